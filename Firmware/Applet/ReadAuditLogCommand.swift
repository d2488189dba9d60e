import SealProtocol

extension SealAppletRuntime {
    /// READ AUDIT LOG (SPEC §8.14): `80 56 00 00 04 counter [Le]`; counter 0 = newest. Read-only.
    func readAuditLog(_ command: AppletCommand) throws(CommandFailure) -> CommandResult {
        guard command.data.count == 4 else { throw .wrongLength }
        try requireLifecycle(for: .readAuditLog)
        let requested = readBigEndian(command.data, as: UInt32.self)
        let head = try store.auditHead()
        let counter = requested == 0 ? head.newestCounter : requested
        guard let entry = try store.auditEntry(counter: counter, head: head) else { throw .referencedDataNotFound }
        return CommandResult(data: entry.encoded())
    }
}
