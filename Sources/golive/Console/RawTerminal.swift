import Foundation

/// The terminal's size.
enum TerminalSize {
    static func current() -> (columns: Int, rows: Int) {
        var size = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0, size.ws_row > 0 {
            return (Int(size.ws_col), Int(size.ws_row))
        }
        return (80, 24)
    }
}

/// Raw keyboard input and full-screen drawing on the alternate screen; `restore()` puts the
/// terminal back as it was.
final class RawTerminal {
    enum Key: Equatable {
        case character(Character), up, down, pageUp, pageDown, enter, escape, backspace
    }

    private var original = termios()
    private var active = false

    init() {
        guard tcgetattr(STDIN_FILENO, &original) == 0 else { return }
        var raw = original
        raw.c_lflag &= ~tcflag_t(ECHO | ICANON)
        tcsetattr(STDIN_FILENO, TCSANOW, &raw)
        active = true
        write("\u{1B}[?1049h\u{1B}[?25l")
    }

    func restore() {
        guard active else { return }
        active = false
        write("\u{1B}[?25h\u{1B}[?1049l")
        tcsetattr(STDIN_FILENO, TCSANOW, &original)
    }

    private func write(_ text: String) { Terminal.out(Data(text.utf8)) }

    /// Redraws the whole screen in place.
    func draw(_ lines: [String], prompt: String?) {
        var text = "\u{1B}[H"
        for (index, line) in lines.enumerated() {
            text += Terminal.watchRow(line, header: index == 0) + "\u{1B}[K" + (index < lines.count - 1 ? "\r\n" : "")
        }
        if let prompt { text += "\r\u{1B}[K" + prompt }
        write(text)
    }

    /// The next key, or nil after the timeout.
    func readKey(timeoutMilliseconds: Int32) -> Key? {
        var descriptor = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, timeoutMilliseconds) > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 8)
        let count = read(STDIN_FILENO, &buffer, buffer.count)
        guard count > 0 else { return nil }
        let bytes = Array(buffer.prefix(count))
        switch bytes {
        case [27, 91, 65]: return .up
        case [27, 91, 66]: return .down
        case [27, 91, 53, 126]: return .pageUp
        case [27, 91, 54, 126]: return .pageDown
        case [27]: return .escape
        case [13], [10]: return .enter
        case [127], [8]: return .backspace
        default:
            return String(decoding: bytes, as: UTF8.self).first.map(Key.character)
        }
    }
}
