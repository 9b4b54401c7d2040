import ArgumentParser
import ScopeClient

/// A byte count on the command line: `4096`, `512M`, `4GiB` (binary units).
struct ByteSize: ExpressibleByArgument, CustomStringConvertible {
    var bytes: Int

    init(bytes: Int) { self.bytes = bytes }

    init?(argument: String) {
        guard let bytes = ByteText.parse(argument) else { return nil }
        self.bytes = bytes
    }

    var description: String { ByteText.format(bytes).replacingOccurrences(of: " ", with: "") }

    var defaultValueDescription: String { description }
}
