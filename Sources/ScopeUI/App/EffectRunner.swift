import Foundation
import ScopeClient

/// Runs the effects ``UIState/apply(_:)`` returns: the one place the UI acts on the world.
struct EffectRunner {
    private(set) var source: any ScopeSource
    let directory: String
    let loader: Loader
    let terminal: TerminalThread
    let post: @Sendable (Action) -> Void
    private var exporting: Task<Void, Never>?
    /// Whether the last effects asked for a whole repaint.
    private(set) var repaint = false

    init(
        source: any ScopeSource, directory: String, loader: Loader, terminal: TerminalThread,
        post: @escaping @Sendable (Action) -> Void
    ) {
        self.source = source
        self.directory = directory
        self.loader = loader
        self.terminal = terminal
        self.post = post
    }

    /// Runs `effects`; returns false when one of them ends the UI.
    mutating func run(_ effects: [Effect]) -> Bool {
        repaint = false
        for effect in effects {
            switch effect {
            case .quit: return false
            case .export(let request):
                let path = ScopeApp.exportPath(request, directory: directory)
                let (source, post) = (self.source, self.post)
                exporting = Task {
                    do {
                        try await source.export(to: path)
                        post(.exported(.success(path)))
                    } catch {
                        post(.exported(.failure(ExportFailure("\(error)"))))
                    }
                }
            case .load(let plan): loader.update(plan)
            case .follow(let process):
                source = LiveSource(path: process.socket)
                loader.follow(source)
            case .redraw:
                terminal.redraw()
                repaint = true
            }
        }
        return true
    }

    func cancel() { exporting?.cancel() }
}
