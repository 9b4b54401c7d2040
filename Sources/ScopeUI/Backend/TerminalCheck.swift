import CNcurses

/// Whether the terminal named by `TERM` can show the UI, asked of terminfo before the
/// terminal is taken, so that `TERM=dumb` (or an unset or unknown `TERM`) gets one clear line
/// instead of a screen of garbage.
public enum TerminalCheck {
    /// Why the UI cannot run on this terminal, or nil when it can move the cursor.
    /// The reason completes "needs a terminal with cursor movement; …", e.g. `TERM=dumb has none`.
    ///
    /// Cost: one read of the terminfo entry.
    public static func problem(environment: [String: String]) -> String? {
        guard let term = environment["TERM"], !term.isEmpty else { return "TERM is not set" }
        switch cn_can_move_cursor(term) {
        case 1: return nil
        case 0: return "TERM=\(term) has none"
        default: return "TERM=\(term) is not a terminal terminfo knows"
        }
    }
}
