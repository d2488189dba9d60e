import Crypto
import SealProtocol

/// The largest SES_Seal the chip stores (SPEC §8.18): twice a real seal's ~17 KB.
let maximumSESSealLength = 32_768

extension PersistentStore {
    /// The installed SES_Seal's length and chunk count; `nil` when none is installed.
    func sesSealDirectory() throws(CommandFailure) -> (length: Int, chunks: Int)? {
        guard let value = read(.sesSealDirectory) else { return nil }
        guard value.count == 6 else { throw .memoryFailure }
        let length = Int(readBigEndian(Array(value[0..<4]), as: UInt32.self))
        let chunks = Int(readBigEndian(Array(value[4..<6]), as: UInt16.self))
        guard length <= maximumSESSealLength, chunks <= RecordID.sesSealChunkCount else { throw .memoryFailure }
        return (length, chunks)
    }

    /// The installed SES_Seal, its chunks concatenated; `nil` when none is installed.
    func sesSeal() throws(CommandFailure) -> [UInt8]? {
        guard let directory = try sesSealDirectory() else { return nil }
        var seal: [UInt8] = []
        seal.reserveCapacity(directory.length)
        for index in 0..<directory.chunks { seal += try required(.sesSealChunk(index)) }
        guard seal.count == directory.length else { throw .memoryFailure }
        return seal
    }
}

extension SealAppletRuntime {
    /// PUT SES SEAL (SPEC §8.18): `80 4C offset-hi offset-lo Lc chunk`, the issuer's, in PERSONALIZED.
    ///
    /// Appends `chunk` at `offset`, which must be 0 (a new seal: the old one is erased) or the
    /// length written so far. The chunk and the directory are written in ONE transaction, so a
    /// power loss leaves the seal as it was before this command.
    func putSESSeal(_ command: AppletCommand) throws(CommandFailure) -> CommandResult {
        guard command.hasData else { throw .wrongLength }
        try requireLifecycle(for: .putSESSeal)
        guard try store.sealKeyAlgorithm() == .sm2 else { throw .conditionsNotSatisfied }
        guard security.issuerAuthenticated else { throw .securityNotSatisfied }
        let offset = Int(command.p1) << 8 | Int(command.p2)
        let directory = try store.sesSealDirectory()
        let (base, chunks) = offset == 0 ? (0, 0) : (directory?.length ?? 0, directory?.chunks ?? 0)
        guard offset == base else { throw .incorrectP1P2 }
        guard base + command.data.count <= maximumSESSealLength, chunks < RecordID.sesSealChunkCount else { throw .wrongData }
        try store.atomically { () throws(CommandFailure) in
            if offset == 0, let old = directory {
                for index in 0..<old.chunks { try store.erase(.sesSealChunk(index)) }
            }
            try store.write(.sesSealChunk(chunks), command.data)
            try store.write(.sesSealDirectory, bigEndianBytes(UInt32(base + command.data.count)) + bigEndianBytes(UInt16(chunks + 1)))
        }
        return CommandResult(data: [])
    }

    /// READ SES SEAL (SPEC §8.19): `80 4E offset-hi offset-lo Le`: min(Ne, length − offset) bytes
    /// of the installed seal. Read-only.
    func readSESSeal(_ command: AppletCommand) throws(CommandFailure) -> CommandResult {
        guard !command.hasData else { throw .wrongLength }
        try requireLifecycle(for: .readSESSeal)
        guard let seal = try store.sesSeal() else { throw .referencedDataNotFound }
        let offset = Int(command.p1) << 8 | Int(command.p2)
        guard offset <= seal.count else { throw .incorrectP1P2 }
        let count = min(command.ne ?? 256, seal.count - offset)
        return CommandResult(data: Array(seal[offset..<(offset + count)]))
    }
}
