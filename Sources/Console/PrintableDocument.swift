import Foundation

/// A document for people to read, print and sign: a title, then sections of paragraphs and tables.
/// Rendered as Markdown (pipe tables) or as one self-contained HTML page that prints on A4 with a
/// page break before each section. Plans (`plan --format md|html`) and reports (`report`) use it.
public struct PrintableDocument: Sendable {
    /// A block of a section.
    public enum Block: Sendable {
        /// A paragraph (plain text).
        case paragraph(String)
        /// A table: header cells and rows.
        case table(header: [String], rows: [[String]])
        /// Raw HTML (a chart), with the text shown in its place in Markdown.
        case html(String, markdown: String)
    }

    /// A titled section.
    public struct Section: Sendable {
        /// The heading.
        public var title: String
        /// The content.
        public var blocks: [Block]

        /// Creates a section.
        public init(_ title: String, _ blocks: [Block]) {
            self.title = title
            self.blocks = blocks
        }
    }

    /// The document's title.
    public var title: String
    /// Key/value lines under the title (change id, environment, fingerprint...).
    public var facts: [(String, String)]
    /// The sections, in order.
    public var sections: [Section]

    /// Creates a document.
    public init(title: String, facts: [(String, String)], sections: [Section]) {
        self.title = title
        self.facts = facts
        self.sections = sections
    }

    /// The document as Markdown.
    public func markdown() -> String {
        var out = "# \(title)\n\n"
        if !facts.isEmpty {
            out += "| | |\n|---|---|\n"
            for (key, value) in facts { out += "| \(Self.cell(key)) | \(Self.cell(value)) |\n" }
            out += "\n"
        }
        for section in sections {
            out += "## \(section.title)\n\n"
            for block in section.blocks {
                switch block {
                case .paragraph(let text): out += text + "\n\n"
                case .table(let header, let rows):
                    out += "| " + header.map(Self.cell).joined(separator: " | ") + " |\n"
                    out += "|" + String(repeating: "---|", count: header.count) + "\n"
                    for row in rows { out += "| " + row.map(Self.cell).joined(separator: " | ") + " |\n" }
                    out += "\n"
                case .html(_, let markdown): out += markdown + "\n\n"
                }
            }
        }
        return out
    }

    /// A Markdown table cell: pipes escaped, line breaks as `<br>`, code-like text kept.
    static func cell(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: "<br>")
    }

    /// The document as one self-contained HTML page (no network), made to print on A4.
    public func html() -> String {
        var body = "<h1>\(Self.escape(title))</h1>\n"
        if !facts.isEmpty {
            body += "<table class='facts'>"
            for (key, value) in facts { body += "<tr><th>\(Self.escape(key))</th><td>\(Self.escape(value))</td></tr>" }
            body += "</table>\n"
        }
        for section in sections {
            body += "<section>\n<h2>\(Self.escape(section.title))</h2>\n"
            for block in section.blocks {
                switch block {
                case .paragraph(let text): body += "<p>\(Self.escape(text))</p>\n"
                case .table(let header, let rows):
                    body += "<table><thead><tr>" + header.map { "<th>\(Self.escape($0))</th>" }.joined() + "</tr></thead><tbody>\n"
                    for row in rows { body += "<tr>" + row.map { "<td>\(Self.escape($0))</td>" }.joined() + "</tr>\n" }
                    body += "</tbody></table>\n"
                case .html(let html, _): body += html + "\n"
                }
            }
            body += "</section>\n"
        }
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>\(Self.escape(title))</title>
            <style>
            @page { size: A4; margin: 16mm 14mm; }
            body { font: 11pt system-ui, sans-serif; color: #111; margin: 24px; }
            h1 { font-size: 18pt; margin: 0 0 8px; } h2 { font-size: 14pt; border-bottom: 2px solid #333; padding-bottom: 2px; }
            table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; font-size: 9.5pt; }
            th, td { border: 1px solid #bbb; padding: 3px 6px; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
            thead { display: table-header-group; } tr { break-inside: avoid; }
            th { background: #eee; } table.facts th { width: 22%; }
            section + section { break-before: page; }
            svg { max-width: 100%; height: auto; }
            .host { font: 11px monospace; } .grid { stroke: #eee; } .marker-label { font-size: 11px; }
            .bar.precheck { fill: #8ab; } .bar.backup { fill: #a8c; } .bar.deploy { fill: #49d; } .bar.health { fill: #5b5; }
            .bar.verify { fill: #7c7; } .bar.rollback { fill: #e93; } .bar.failed { stroke: #c00; stroke-width: 2; fill-opacity: .75; }
            @media screen { section + section { border-top: 1px dashed #aaa; margin-top: 24px; } }
            </style></head><body>
            \(body)</body></html>
            """
    }

    /// Text escaped for HTML.
    static func escape(_ text: String) -> String { TimelineRenderer.escape(text) }
}
