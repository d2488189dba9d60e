// libusb-1.0, imported as it is (pkg-config adds -I/usr/include/libusb-1.0).
#include <libusb.h>
