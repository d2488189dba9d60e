// The real pcsc-lite headers, imported as they are: re-declaring PC/SC structs in Swift or C gets
// their sizes wrong on Linux x86-64 (DWORD is unsigned long there), see docs/pcsc.md.
#include <winscard.h>
#include <reader.h>
