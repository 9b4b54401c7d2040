import Foundation
import ScopeClient

/// Runs the effects ``UIState/apply(_:)`` returns: the one place the UI acts on the world.
struct EffectRunner {
    private(set) var source: any ScopeSource
    let directory: String
    let loader: Loader
    let display: any Display
    let post: @Sendable (Action) -> Void
    private var exporting: Task<Void, Never>?
    /// Whether the last effects asked for a whole repaint.
    private(set) var repaint = false

    init(
        source: any ScopeSource, directory: String, loader: Loader, display: any Display,
        post: @escaping @Sendable (Action) -> Void
    ) {
        self.source = source
        self.directory = directory
        self.loader = loader
        self.display = display
        self.post = post
    }

    /// Runs `effects`; returns how the UI ends when one of them ends it, nil to go on.
    mutating func run(_ effects: [Effect]) -> ScopeApp.Outcome? {
        repaint = false
        for effect in effects {
            switch effect {
            case .quit: return .quit
            case .choose(let gone, let processes): return .choose(gone: gone, among: processes)
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
                display.redraw()
                repaint = true
            }
        }
        return nil
    }

    func cancel() { exporting?.cancel() }
}
