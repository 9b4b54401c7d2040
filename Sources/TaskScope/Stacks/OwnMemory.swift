import CTaskScopeNative

/// Reads of this process's own memory that fail instead of faulting (`process_vm_readv` on the
/// own pid): an address that is unmapped, or freed and unmapped while it is read, gives nil.
///
/// Cost: one system call per 1,024 blocks; the kernel pins and copies each page touched.
enum OwnMemory {
    /// `words` machine words at each address, laid end to end (address `i`'s at
    /// `i * words ..< (i + 1) * words`, zero where unread), and whether each was read whole; nil
    /// when the process may not read its own memory (a seccomp filter).
    static func read(at addresses: [UInt], words: Int) -> (words: [UInt], ok: [Bool])? {
        var buffer: [UInt] = []
        var ok: [Bool] = []
        guard read(at: addresses[...], words: words, into: &buffer, ok: &ok) else { return nil }
        return (buffer, ok)
    }

    /// As ``read(at:words:)``, into `buffer` and `ok` (resized to fit), so that a caller reading
    /// batch after batch reuses their memory (an unread block's words are then left as they
    /// were: only `ok` says which hold this read); false when the process may not read itself.
    static func read(
        at addresses: ArraySlice<UInt>, words: Int, into buffer: inout [UInt], ok: inout [Bool]
    ) -> Bool {
        guard !addresses.isEmpty, words > 0 else { return false }
        let count = addresses.count * words
        if buffer.count > count { buffer.removeLast(buffer.count - count) }
        if buffer.count < count { buffer += repeatElement(0, count: count - buffer.count) }
        if ok.count != addresses.count { ok = [Bool](repeating: false, count: addresses.count) }
        let result = addresses.withUnsafeBufferPointer { remote in
            buffer.withUnsafeMutableBytes { local in
                ok.withUnsafeMutableBufferPointer { ok in
                    // Bool is one byte, 0 or 1: the C side writes exactly those.
                    ok.withMemoryRebound(to: UInt8.self) { flags in
                        ts_read_blocks(
                            remote.baseAddress, local.baseAddress, words * 8, addresses.count, flags.baseAddress)
                    }
                }
            }
        }
        return result >= 0
    }

    /// `words` machine words at each address, nil where they could not all be read; all nil when
    /// the process may not read its own memory (a seccomp filter).
    static func blocks(at addresses: [UInt], words: Int) -> [[UInt]?] {
        guard let read = read(at: addresses, words: words) else { return addresses.map { _ in nil } }
        return addresses.indices.map { index in
            read.ok[index] ? Array(read.words[index * words..<(index + 1) * words]) : nil
        }
    }
}
