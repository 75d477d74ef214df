/* A stand-in bcryptprimitives.dll for running Windows builds under Debian's wine 8, which has no
 * such DLL: Rust's standard library (1.78 and later) imports ProcessPrng from it for HashMap keys
 * and every other random need, so without it no Rust program starts. Real Windows (10 and later)
 * has the DLL; this file is only for scripts/test-windows.sh. ProcessPrng fills the buffer with
 * random bytes and always succeeds; here the bytes come from RtlGenRandom (advapi32's
 * SystemFunction036), which wine implements. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
