import SealSimulatedToken
import SealReaderWire
import SealProtocol

/// What shapes a simulated CCID reader: its slots, its message size, its fixed ICC clock and data
/// rate, and the time-extension policy. ``classDescriptor`` derives the 54-byte CCID functional
/// descriptor from it, so the descriptor the host reads and the limits the device enforces can
/// never disagree.
///
/// ### dwMaxCCIDMessageLength = 5 120
/// The largest SealKit command APDU is an extended-length one with 4 096 data bytes
/// (`SealApplet.maxCommandData`): 4 + 3 + 4 096 + 3 = 4 106 bytes, 4 116 with the CCID header. 5 120
/// (0x1400) carries it in a single `PC_to_RDR_XfrBlock` with room to spare, stays within the
/// CCID 1.1 range for the extended APDU level (261 + 10 … 65 544 + 10), and bounds what either side
/// buffers per message to a few KiB, like real tokens (a YubiKey announces 3 072). Longer responses
/// (the chip answers up to 65 536 data bytes when asked for them) are split with
/// `bChainParameter` 01/03/02 and fetched with empty `XfrBlock`s carrying `wLevelParameter` 0010,
/// exactly as libccid's `CmdXfrBlockAPDU_extended` does; command chaining (`wLevelParameter`
/// 01/03/02) is accepted too, for hosts that split commands anyway.
package struct CCIDDeviceConfiguration: Hashable, Sendable {
    /// Number of slots, 1…``maximumSlots``. A SealKit token has one.
    package var slotCount: Int
    /// `dwMaxCCIDMessageLength`: the largest message (header included) accepted or sent;
    /// at least 271 (a short APDU), clamped to 65 554.
    package var maxMessageLength: Int
    /// `dwDefaultClock` and `dwMaximumClock`, kHz. Default 4 000.
    package var clockKHz: UInt32
    /// `dwDataRate` and `dwMaxDataRate`, bps. Default 10 752 (4 MHz / 372, ISO 7816-3 Fi=372 Di=1).
    package var dataRate: UInt32
    /// How long the chip may work on one APDU before the device first sends a time-extension
    /// `RDR_to_PC_DataBlock` (`bStatus` 0x80). `.zero` (the default) disables time extensions.
    package var timeExtensionThreshold: Duration
    /// `bError` of a time-extension message: the BWT multiplier requested. Default 1.
    package var timeExtensionMultiplier: UInt8
    /// The largest command APDU accepted through `wLevelParameter` chaining (bytes). Default
    /// 65 546 (an extended APDU with 65 535 data bytes and a 3-byte Le).
    package var maximumChainedCommandLength: Int

    /// Most slots a device may have (the NotifySlotChange bitmap is 4 bytes then).
    package static let maximumSlots = 16
    /// The default `dwMaxCCIDMessageLength` (see the type's discussion).
    package static let defaultMaxMessageLength = 5_120

    /// The default configuration: one slot, 5 120-byte messages, time extensions off.
    package init(slotCount: Int = 1, maxMessageLength: Int = CCIDDeviceConfiguration.defaultMaxMessageLength,
                clockKHz: UInt32 = 4_000, dataRate: UInt32 = 10_752, timeExtensionThreshold: Duration = .zero,
                timeExtensionMultiplier: UInt8 = 1, maximumChainedCommandLength: Int = 65_546) {
        self.slotCount = min(max(slotCount, 1), Self.maximumSlots)
        self.maxMessageLength = min(max(maxMessageLength, 271), 65_554)
        self.clockKHz = clockKHz
        self.dataRate = dataRate
        self.timeExtensionThreshold = timeExtensionThreshold
        self.timeExtensionMultiplier = timeExtensionMultiplier
        self.maximumChainedCommandLength = max(maximumChainedCommandLength, 0)
    }

    /// The configuration with every field brought into its range (fields are `var`s and may
    /// have been set after `init`). ``CCIDDevice`` works with this.
    package var normalized: CCIDDeviceConfiguration {
        CCIDDeviceConfiguration(slotCount: slotCount, maxMessageLength: maxMessageLength, clockKHz: clockKHz, dataRate: dataRate,
                                timeExtensionThreshold: max(timeExtensionThreshold, .zero),
                                timeExtensionMultiplier: timeExtensionMultiplier,
                                maximumChainedCommandLength: maximumChainedCommandLength)
    }

    /// `dwFeatures` of every SealKit reader: automatic parameter configuration from the ATR,
    /// activation, voltage, clock, baud rate, parameter negotiation and PPS (0xFE), and the
    /// extended APDU exchange level (0x00040000) — the reader exchanges whole APDUs, so the host
    /// does no T=1 block framing.
    package static let features: UInt32 = 0x0004_00FE

    /// The T=1 `abProtocolDataStructure` the ATR implies and ``CCIDDevice`` starts from and
    /// returns to on ResetParameters: Fi=372/Di=1 (`11`), LRC and direct convention (`10`), no
    /// extra guard time (`00`), BWI 4 / CWI 13 (`4D`), no clock stop (`00`), IFSC 32 (`20`),
    /// NAD 0 (`00`).
    package static let defaultT1Parameters: [UInt8] = [0x11, 0x10, 0x00, 0x4D, 0x00, 0x20, 0x00]

    /// The CCID functional descriptor this configuration announces.
    package var classDescriptor: CCIDClassDescriptor {
        let slotCount = min(max(slotCount, 1), Self.maximumSlots)
        return CCIDClassDescriptor(
            bcdCCID: 0x0110, maxSlotIndex: UInt8(slotCount - 1), voltageSupport: 0x07,
            protocols: CCIDClassDescriptor.protocolT1,
            defaultClock: clockKHz, maximumClock: clockKHz, numClockSupported: 0,
            dataRate: dataRate, maxDataRate: dataRate, numDataRatesSupported: 0,
            maxIFSD: 254, synchProtocols: 0, mechanical: 0, features: Self.features,
            maxCCIDMessageLength: UInt32(clamping: maxMessageLength), classGetResponse: 0xFF, classEnvelope: 0xFF,
            lcdLayout: 0, pinSupport: 0, maxCCIDBusySlots: UInt8(slotCount))
    }
}
