/* Holds a file open the way another Windows program would (an editor, claude, a virus scanner:
 * reading and writing shared, deleting and renaming not), for scripts/test-windows.sh: prints
 * "held" once the file is open and keeps it open until a line (or end of file) on stdin. */
#include <windows.h>
#include <stdio.h>
int main(int argc, char **argv) {
    HANDLE h = CreateFileA(argv[1], GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0, NULL);
    if (h == INVALID_HANDLE_VALUE) { printf("cannot open: %lu\n", GetLastError()); return 1; }
    printf("held\n"); fflush(stdout);
    char buf[16]; fgets(buf, sizeof buf, stdin);
    CloseHandle(h);
    return 0;
}
