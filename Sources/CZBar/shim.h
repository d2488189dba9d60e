// Debian's libzbar (libzbar-dev): reads the QR code back from an image (docs/imprint.md).
#include <zbar.h>

// zbar names image formats by a fourcc, which its header builds with a macro Swift cannot call.
static const unsigned long sealkit_zbar_format_y800 = zbar_fourcc('Y', '8', '0', '0');
