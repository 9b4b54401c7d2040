import ScopeProtocol

// What the public API hands out, named in this module, so that `import TaskScope` alone is
// enough to read `TaskScope.warnings()` and set `TaskScope.RuleSettings`. Type aliases rather
// than `@_exported import ScopeProtocol`, which would also put the wire protocol's many
// general names (`Request`, `Reply`, `Key`, `Code`...) into every importer's namespace.
// Aliases name the same types: code that imports both modules sees one type under each name.

/// A leak warning: which rule, what it found, where, and how to fix it (see `TaskScope.warnings()`).
public typealias Warning = ScopeProtocol.Warning
/// A leak rule's name and severity (definite or suspect).
public typealias LeakRule = ScopeProtocol.LeakRule
/// A place in the source: file (`#fileID`), line, and function where known.
public typealias SourceSite = ScopeProtocol.SourceSite
/// The names of the built-in wait reasons (`channel.send`, `timer`...), to compare with `Warning.reason`.
public typealias WaitReason = ScopeProtocol.WaitReason
