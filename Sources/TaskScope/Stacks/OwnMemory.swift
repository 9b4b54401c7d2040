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
        guard !addresses.isEmpty, words > 0 else { return nil }
        var buffer = [UInt](repeating: 0, count: addresses.count * words)
        var ok = [UInt8](repeating: 0, count: addresses.count)
        let result = addresses.withUnsafeBufferPointer { remote in
            buffer.withUnsafeMutableBytes { local in
                ok.withUnsafeMutableBufferPointer { ok in
                    ts_read_blocks(remote.baseAddress, local.baseAddress, words * 8, addresses.count, ok.baseAddress)
                }
            }
        }
        guard result >= 0 else { return nil }
        return (buffer, ok.map { $0 != 0 })
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
