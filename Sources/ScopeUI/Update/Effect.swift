import ScopeClient
import ScopeProtocol

/// What ``UIState/apply(_:)`` asks the runtime to do: the work that is not a change of
/// state (quitting, writing a file, fetching data, switching processes, handing a choice
/// back, repainting).
/// `apply` returns these as bubbletea's `Update` returns `(Model, Cmd)`, and
/// ``ScopeApp`` runs them, all in one place.
public enum Effect: Sendable, Hashable {
    /// End the UI and give the terminal back.
    case quit
    /// Write a snapshot of the process to a file; the outcome comes back as ``Action/exported(_:)``.
    case export(ExportRequest)
    /// Fetch what `plan` says the screens need now (the plan changed).
    case load(LoadPlan)
    /// Watch another process from now on: the one watched went away and this one took its place.
    case follow(AttachableProcess)
    /// End the UI and hand these processes back to pick from: process `gone` went away and
    /// several new ones took its place (``ScopeApp/Outcome/choose(gone:among:)``).
    case choose(gone: Int32, among: [AttachableProcess])
    /// Repaint the whole terminal, not only the cells that changed (something else wrote on it).
    case redraw
}

/// An export asked for by a key: the runtime picks the file's path from these and the time.
public struct ExportRequest: Sendable, Hashable {
    /// The process's name, when known.
    public var process: String?
    /// The process's id, when known.
    public var pid: Int32?

    public init(process: String?, pid: Int32?) {
        self.process = process
        self.pid = pid
    }
}
