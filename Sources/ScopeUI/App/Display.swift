/// Where the UI's frames go: the terminal thread, or a recorder in a test that runs the
/// UI's loop without a terminal.
protocol Display: Sendable {
    /// Hands a frame to draw; a newer one may replace it before it is drawn.
    func show(_ frame: CellBuffer)
    /// Repaints the whole screen with the next frame, not only the cells that changed.
    func redraw()
}

extension TerminalThread: Display {}
