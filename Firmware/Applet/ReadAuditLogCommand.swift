import SealProtocol

extension SealAppletRuntime {
    /// READ AUDIT LOG (SPEC §8.14): `80 56 00 00 04 counter [Le]`; counter 0 = newest. Read-only.
    func readAuditLog(_ command: AppletCommand) throws(CommandFailure) -> CommandResult {
        guard command.data.count == 4 else { throw .wrongLength }
        try requireLifecycle(for: .readAuditLog)
        // Seal policy bit 2 (SPEC §8.14): document digests and times are sensitive. The policy
        // record is absent only before personalization, where the log is empty anyway.
        if let policy = store.read(.sealPolicy), policy.first.map({ $0 & SealPolicy.auditLogNeedsAuthentication != 0 }) == true,
           !security.pinVerified, !security.issuerAuthenticated {
            throw .securityNotSatisfied
        }
        let requested = readBigEndian(command.data, as: UInt32.self)
        let head = try store.auditHead()
        let counter = requested == 0 ? head.newestCounter : requested
        guard let entry = try store.auditEntry(counter: counter, head: head) else { throw .referencedDataNotFound }
        return CommandResult(data: entry.encoded())
    }
}
