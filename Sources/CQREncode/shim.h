// Debian's libqrencode (libqrencode-dev), imported as it is: the QR codes of SealImprint
// (docs/imprint.md).
#include <qrencode.h>
