import SealHostDriver
#if canImport(CPCSCLite)
internal import CPCSCLite

/// The body of one ``PCSCReaderMonitor`` iteration, run on its own thread with its own context.
///
/// Each round waits in `SCardGetStatusChange` on the PnP pseudo-reader plus every known reader,
/// with a timeout of ``pollMilliseconds``. It turns state changes into ``PCSCReaderEvent``s and, on
/// a PnP notification, a vanished reader or a timeout, re-lists the readers and reports the
/// difference. Re-listing on timeout covers pcsc-lite builds without hot-plug notification, and the
/// timeout bounds the window in which a cancel between two waits would go unnoticed.
struct PCSCMonitorLoop {
    /// The PnP notification pseudo-reader, `\\?PnP?\Notification`.
    static let pnpNotificationReader = #"\\?PnP?\Notification"#

    let reportExisting: Bool
    let pollMilliseconds: DWORD
    let control: PCSCMonitorControl
    let continuation: AsyncThrowingStream<PCSCReaderEvent, any Error>.Continuation

    private struct Tracked {
        /// The last `dwEventState` without `SCARD_STATE_CHANGED`; `SCARD_STATE_UNAWARE` (0) before
        /// the first answer.
        var state: DWORD = 0
        var present = false
    }

    /// Runs the loop to its end and finishes the stream: normally on cancellation, throwing a
    /// ``PCSCError`` otherwise (``PCSCError/Code-swift.struct/serviceUnavailable`` when pcscd is not
    /// running or stops).
    func run() {
        let context: PCSCContext
        do {
            context = try PCSCContext.establish()
        } catch {
            continuation.finish(throwing: error)
            return
        }
        guard control.attach(context.handle) else {
            continuation.finish()
            return
        }
        let outcome: Result<Void, PCSCError> = withExtendedLifetime(context) {
            let outcome = loop(context)
            control.detach()   // before the context is released
            return outcome
        }
        switch outcome {
        case .success: continuation.finish()
        case .failure(let error): continuation.finish(throwing: error)
        }
    }

    private func loop(_ context: PCSCContext) -> Result<Void, PCSCError> {
        var names: [String]
        var tracked: [String: Tracked] = [:]
        do throws(PCSCError) {
            names = try context.listReaders()
            if reportExisting {
                // Start UNAWARE: the first wait answers at once with every reader's state, which
                // reports the cards already present as insertions.
                for name in names {
                    emit(.readerAdded(name: name))
                    tracked[name] = Tracked()
                }
            } else {
                for info in try context.readerInfos(names) {
                    tracked[info.name] = Tracked(state: DWORD(info.state.rawValue) | (DWORD(info.eventCount) << 16),
                                                 present: info.isCardPresent)
                }
                names = names.filter { tracked[$0] != nil }
            }
        } catch {
            return .failure(error)
        }

        var pnpState = DWORD(SCARD_STATE_UNAWARE)
        while !control.isCancelled {
            var queries = [PCSCContext.StatusQuery(reader: Self.pnpNotificationReader, currentState: pnpState)]
            queries += names.map { PCSCContext.StatusQuery(reader: $0, currentState: tracked[$0]?.state ?? 0) }
            let rv = context.getStatusChange(&queries, timeoutMilliseconds: pollMilliseconds)
            var relist = false
            if rv == LONG(SCARD_E_CANCELLED) {
                return .success(())
            } else if rv == LONG(SCARD_E_TIMEOUT) {
                // No change (pcsc-lite 1.9.9 also answers a PnP query this way); poll the list.
                relist = true
            } else if rv == LONG(SCARD_E_UNKNOWN_READER) || rv == LONG(SCARD_E_READER_UNAVAILABLE) {
                relist = true   // a reader vanished between listing and waiting
            } else if rv == PCSCReturnCode.success {
                let pnp = queries[0].eventState
                if pnp & DWORD(SCARD_STATE_CHANGED) != 0 { relist = true }
                pnpState = pnp & ~DWORD(SCARD_STATE_CHANGED)
                for query in queries.dropFirst() where query.eventState & DWORD(SCARD_STATE_CHANGED) != 0 {
                    if query.eventState & DWORD(SCARD_STATE_UNKNOWN | SCARD_STATE_IGNORE) != 0 {
                        relist = true
                        continue
                    }
                    update(&tracked, reader: query.reader, word: query.eventState, atr: query.atr)
                }
            } else {
                return .failure(PCSCReturnCode.error(rv, "SCardGetStatusChange"))
            }
            if relist, !control.isCancelled {
                do throws(PCSCError) {
                    names = try refresh(names, &tracked, context: context)
                } catch {
                    return .failure(error)
                }
            }
        }
        return .success(())
    }

    /// Compares a reader's new state word with the tracked one and reports insertions/removals.
    /// A card swapped between two waits (still present, event counter advanced by two or more) is
    /// reported as a removal followed by an insertion.
    private func update(_ tracked: inout [String: Tracked], reader: String, word: DWORD, atr: [UInt8]) {
        let old = tracked[reader] ?? Tracked()
        let present = word & DWORD(SCARD_STATE_PRESENT) != 0
        if old.present && present {
            let before = PCSCReaderState.eventCount(ofStateWord: old.state)
            let after = PCSCReaderState.eventCount(ofStateWord: word)
            if (after - before + 0x10000) % 0x10000 >= 2 {
                emit(.cardRemoved(reader: reader))
                emit(.cardInserted(reader: reader, atr: atr))
            }
        } else if present {
            emit(.cardInserted(reader: reader, atr: atr))
        } else if old.present {
            emit(.cardRemoved(reader: reader))
        }
        tracked[reader] = Tracked(state: word & ~DWORD(SCARD_STATE_CHANGED), present: present)
    }

    /// Re-lists the readers and reports the ones that appeared or disappeared. New readers start
    /// UNAWARE, so the next wait reports a card already in them.
    private func refresh(_ names: [String], _ tracked: inout [String: Tracked],
                         context: PCSCContext) throws(PCSCError) -> [String] {
        let current = try context.listReaders()
        for name in names where !current.contains(name) {
            if tracked[name]?.present == true { emit(.cardRemoved(reader: name)) }
            emit(.readerRemoved(name: name))
            tracked[name] = nil
        }
        for name in current where !names.contains(name) {
            emit(.readerAdded(name: name))
            tracked[name] = Tracked()
        }
        return current
    }

    private func emit(_ event: PCSCReaderEvent) {
        if case .terminated = continuation.yield(event) { control.cancel() }
    }
}
#endif
