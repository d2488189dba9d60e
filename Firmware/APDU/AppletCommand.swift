import SealProtocol

/// The four header bytes that identify a command for chaining and dispatch, with the chaining bit
/// of CLA already removed (SPEC §3.4: every part of a chain carries the same class, INS, P1, P2).
struct CommandHeader: Equatable {
    /// CLA without the chaining bit `10`.
    var classByte: UInt8
    var ins: UInt8
    var p1: UInt8
    var p2: UInt8

    /// P1-P2 as one big-endian value (the GET DATA tag).
    var p1p2: UInt16 { UInt16(p1) << 8 | UInt16(p2) }
}

/// A complete command as the applet sees it: chains are already reassembled, CLA already checked,
/// the instruction already known to exist for the class and the application selected (SPEC §5
/// steps 1–4), and P1-P2 already accepted (step 5).
struct AppletCommand {
    var instruction: SealInstruction
    var p1: UInt8
    var p2: UInt8
    /// The command data (of the whole chain); empty exactly when Lc was absent.
    var data: [UInt8]
    /// Ne; `nil` when Le was absent.
    var ne: Int?
    /// The length form of the Le field; `nil` when Le was absent.
    var leForm: APDULengthForm?

    var hasData: Bool { !data.isEmpty }
}

/// What a handler produces on normal completion: response data and a status word. Data is only
/// ever returned with `9000`; warnings such as `63Cx` carry none.
struct CommandResult: Equatable {
    var data: [UInt8]
    var status: StatusWord

    init(data: [UInt8] = [], status: StatusWord = .success) {
        self.data = data
        self.status = status
    }

    static let success = CommandResult()
}
