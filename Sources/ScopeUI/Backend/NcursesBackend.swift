import CNcurses
import Foundation

/// The only code that touches the terminal: starts and restores ncurses, draws
/// frames by writing the cells that changed, and reads keys. Use it from one
/// thread only.
final class NcursesBackend {
    private var previous: CellBuffer?
    private(set) var colours = false
    private var started = false

    /// Takes over the terminal. Honours `NO_COLOR` (set and not empty: no colour).
    func start(environment: [String: String]) throws {
        cn_set_locale()
        guard cn_start() == 0 else { throw BackendError("cannot start the terminal (is TERM set?)") }
        started = true
        cn_timeout(40)
        if environment["NO_COLOR"] == nil || environment["NO_COLOR"] == "", cn_colors() != 0 {
            colours = true
            for colour in Colour.allCases {
                cn_init_pair(Int16(colour.rawValue) + 1, NcursesBackend.terminalColour(colour))
            }
        }
    }

    /// Gives the terminal back as it was. Safe to call twice.
    func stop() {
        guard started else { return }
        started = false
        cn_end()
    }

    var size: (width: Int, height: Int) { (Int(cn_cols()), Int(cn_lines())) }

    /// Draws `frame`, writing only the cells that differ from the last frame.
    func draw(_ frame: CellBuffer) {
        if previous?.width != frame.width || previous?.height != frame.height {
            cn_clear()
            previous = nil
        }
        for y in 0..<frame.height {
            var x = 0
            while x < frame.width {
                let cell = frame[x, y]
                if let previous, previous[x, y] == cell {
                    x += 1
                    continue
                }
                // A run of changed cells in one style, written at once.
                var run: [wchar_t] = []
                let style = cell.style
                var end = x
                while end < frame.width, frame[end, y].style == style, previous?[end, y] != frame[end, y] {
                    // A wide character is written once and fills its continuation cell itself;
                    // every scalar of a character goes out (an emoji's selector, a combining mark).
                    if !frame[end, y].isContinuation {
                        run += frame[end, y].character.unicodeScalars.map { wchar_t(bitPattern: $0.value) }
                    }
                    end += 1
                }
                let count = Int32(run.count)
                run.append(0)
                _ = run.withUnsafeBufferPointer { text in
                    cn_put(Int32(y), Int32(x), text.baseAddress, count, attributes(style), pair(style))
                }
                x = end
            }
        }
        cn_refresh()
        previous = frame
    }

    /// Forces the next frame to be drawn whole.
    func invalidate() { previous = nil }

    /// Clears the terminal and draws the last frame again whole (Ctrl-L): for when something
    /// else wrote on the terminal, which ncurses cannot know.
    func repaintAll() {
        guard let frame = previous else { return }
        previous = nil
        cn_clear()
        draw(frame)
    }

    /// The next key, or `nil` when none came within the timeout. `.resize` comes as a nil key and `resized` set.
    func readKey() -> (key: Key?, resized: Bool) {
        var code: wint_t = 0
        let result = cn_get_wch(&code)
        if result == cn_key_code_yes() {
            let value = Int32(bitPattern: code)
            switch value {
            case cn_key_resize(): return (nil, true)
            case cn_key_up(): return (.up, false)
            case cn_key_down(): return (.down, false)
            case cn_key_left(): return (.left, false)
            case cn_key_right(): return (.right, false)
            case cn_key_page_up(): return (.pageUp, false)
            case cn_key_page_down(): return (.pageDown, false)
            case cn_key_home(): return (.home, false)
            case cn_key_end(): return (.end, false)
            case cn_key_enter(): return (.enter, false)
            case cn_key_backspace(): return (.backspace, false)
            case cn_key_btab(): return (.backTab, false)
            default:
                for number in 1...12 where value == cn_key_f(Int32(number)) { return (.function(number), false) }
                return (nil, false)
            }
        }
        guard result == cn_ok() else { return (nil, false) }
        switch code {
        case 9: return (.tab, false)
        case 10, 13: return (.enter, false)
        case 27: return (.escape, false)
        case 127, 8: return (.backspace, false)
        case 1...26:
            // Ctrl-A to Ctrl-Z (less those named above): by the letter.
            return (.control(Character(Unicode.Scalar(UInt8(code) + 96))), false)
        default:
            guard let scalar = Unicode.Scalar(UInt32(code)) else { return (nil, false) }
            return (.character(Character(scalar)), false)
        }
    }

    private func attributes(_ style: Style) -> attr_t {
        var value = cn_normal()
        if style.bold { value |= cn_bold() }
        if style.dim { value |= cn_dim() }
        if style.reverse { value |= cn_reverse() }
        return value
    }

    private func pair(_ style: Style) -> Int16 {
        colours && style.colour != .normal ? Int16(style.colour.rawValue) + 1 : 0
    }

    private static func terminalColour(_ colour: Colour) -> Int16 {
        switch colour {
        case .normal, .muted: -1
        case .accent: cn_colour_cyan()
        case .good: cn_colour_green()
        case .warning: cn_colour_yellow()
        case .danger: cn_colour_red()
        case .header: cn_colour_blue()
        }
    }
}

struct BackendError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
