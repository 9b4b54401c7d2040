import Foundation

/// The code mapped into this process: each module's executable ranges, read from
/// `/proc/self/maps`. Used to check that an address read from a task is code before following
/// or naming it, and to find the module an address belongs to.
///
/// Cost: one read of `/proc/self/maps` (a few hundred lines); lookups are a binary search.
/// Bounded: at most ``maxRanges`` executable ranges are kept.
struct ProcessImage: Sendable {
    struct Module: Sendable, Hashable {
        /// The file's path, as mapped.
        var path: String
    }

    struct CodeRange: Sendable {
        var start: UInt
        var end: UInt
        var module: Int
        /// Where in the file the range begins.
        var fileOffset: UInt
    }

    static let maxRanges = 4_096

    private(set) var modules: [Module] = []
    private(set) var code: [CodeRange] = []

    /// Reads the current mappings; empty when `/proc/self/maps` cannot be read.
    static func current() -> ProcessImage {
        mapsText().map(ProcessImage.init(maps:)) ?? ProcessImage()
    }

    /// The text of `/proc/self/maps` (at most 16 MiB), nil when it cannot be read.
    static func mapsText() -> String? {
        // Read to its end by hand: a proc file reports no size, and a one-shot read stops at a page.
        let descriptor = open("/proc/self/maps", O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while bytes.count < 16 << 20 {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    init() {}

    /// Parses the text of a `/proc/PID/maps` file.
    init(maps: String) {
        var index: [String: Int] = [:]
        for line in maps.split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count == 6, let dash = fields[0].firstIndex(of: "-"),
                let start = UInt(fields[0][..<dash], radix: 16),
                let end = UInt(fields[0][fields[0].index(after: dash)...], radix: 16),
                let offset = UInt(fields[2], radix: 16)
            else { continue }
            let path = fields[5].trimmingCharacters(in: .whitespaces)
            guard path.hasPrefix("/") else { continue }
            guard fields[1].contains("x"), code.count < Self.maxRanges else { continue }
            let module: Int
            if let known = index[path] {
                module = known
            } else {
                module = modules.count
                index[path] = module
                modules.append(Module(path: path))
            }
            code.append(CodeRange(start: start, end: end, module: module, fileOffset: offset))
        }
        code.sort { $0.start < $1.start }
    }

    /// The module whose code holds `address`, or nil when it is not code.
    func module(of address: UInt) -> Int? { range(of: address)?.module }

    /// Where in its module's file `address` is: the module and the file offset.
    func fileOffset(of address: UInt) -> (module: Int, offset: UInt)? {
        guard let range = range(of: address) else { return nil }
        return (range.module, address - range.start + range.fileOffset)
    }

    private func range(of address: UInt) -> CodeRange? {
        var low = 0
        var high = code.count
        while low < high {
            let middle = (low + high) / 2
            if code[middle].end <= address { low = middle + 1 } else { high = middle }
        }
        guard low < code.count, code[low].start <= address, address < code[low].end else { return nil }
        return code[low]
    }

    /// Whether `address` is in mapped code.
    func isCode(_ address: UInt) -> Bool { module(of: address) != nil }

    /// The mapped code range holding `address`, nil when it is not code.
    func codeRange(of address: UInt) -> Range<UInt>? { range(of: address).map { $0.start..<$0.end } }
}
