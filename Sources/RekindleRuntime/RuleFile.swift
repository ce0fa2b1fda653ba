import Foundation
import RekindleCore
import Yams

/// Loads a rule file (YAML or JSON) and lays it over the defaults.
public enum RuleFile {
    /// A rule file (or configuration file) larger than this is refused before it is parsed.
    public static let maxBytes = 16 << 20

    public static func load(path: String?) throws(RuleError) -> RuleSet {
        guard let path else { return RuleSet.defaults }
        let text = try readText(path: path, what: "rule file")
        do throws(RuleError) {
            return try RuleSet(overlay: parse(text))
        } catch {
            throw RuleError("\(path): \(error.message)")
        }
    }

    /// The text of a small regular UTF-8 file: a FIFO or device would block or never end, and a
    /// huge file is a mistake, not rules.
    public static func readText(path: String, what: String) throws(RuleError) -> String {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw RuleError("\(path): cannot read the \(what) (\(String(cString: strerror(errno))))")
        }
        guard st.st_mode & S_IFMT == S_IFREG else { throw RuleError("\(path): the \(what) is not a regular file") }
        guard st.st_size <= maxBytes else {
            throw RuleError("\(path): the \(what) is larger than \(maxBytes >> 20) MiB")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw RuleError("\(path): cannot read the \(what)") }
        defer { try? handle.close() }
        let data: Data
        do { data = try handle.read(upToCount: maxBytes + 1) ?? Data() } catch {
            throw RuleError("\(path): cannot read the \(what) (\(error.localizedDescription))")
        }
        guard data.count <= maxBytes else { throw RuleError("\(path): the \(what) is larger than \(maxBytes >> 20) MiB") }
        guard let text = String(data: data, encoding: .utf8) else { throw RuleError("\(path): the \(what) is not UTF-8 text") }
        return text
    }

    /// Parses YAML (JSON is YAML too) into the tree the core merges.
    public static func parse(_ text: String) throws(RuleError) -> JSONValue {
        let parser: Parser
        let node: Node?
        do {
            parser = try Parser(yaml: text)
            node = try parser.singleRoot()
        } catch { throw RuleError("not valid YAML: \(describe(error))") }
        guard let node else { throw RuleError("the rule file is empty") }
        // A node's anchor is a weak reference the parser owns: keep the parser while converting.
        return try withExtendedLifetime(parser) { () throws(RuleError) -> JSONValue in try convert(node, path: "") }
    }

    static func convert(_ node: Node, path: String) throws(RuleError) -> JSONValue {
        // Yams resolves an alias to the anchored node itself, sharing storage: refusing every
        // anchored node here, before descending, keeps an alias bomb from being expanded.
        if node.anchor != nil {
            throw RuleError("\(path.isEmpty ? "top" : path): YAML anchors and aliases are not allowed in a rule file")
        }
        switch node {
        case .scalar(let scalar):
            // Only plain scalars are typed; a quoted "10" stays a string.
            guard scalar.style == .plain else { return .string(scalar.string) }
            if node.null != nil { return .null }
            if let b = node.bool { return .bool(b) }
            if let i = node.int { return .number(Double(i)) }
            if let d = node.float {
                guard d.isFinite else { throw RuleError("\(path): not a finite number") }
                return .number(d)
            }
            return .string(scalar.string)
        case .mapping(let mapping):
            var members: [JSONMember] = []
            members.reserveCapacity(mapping.count)
            var seen: Set<String> = []
            for (k, v) in mapping {
                guard let key = k.string, k.anchor == nil else { throw RuleError("\(path): keys must be strings") }
                let sub = path.isEmpty ? key : "\(path).\(key)"
                guard seen.insert(key).inserted else { throw RuleError("\(sub): key given twice") }
                members.append(JSONMember(key, try convert(v, path: sub)))
            }
            return .object(members)
        case .sequence(let seq):
            var items: [JSONValue] = []
            for (i, v) in seq.enumerated() { items.append(try convert(v, path: "\(path)[\(i)]")) }
            return .array(items)
        default:
            throw RuleError("\(path): unsupported YAML node (aliases are not allowed)")
        }
    }

    /// A YAML error in one line: position, problem and a short excerpt of the line (Yams's own
    /// description repeats the whole line, however long).
    static func describe(_ error: any Error) -> String {
        guard let e = error as? YamlError else { return excerpt(String(describing: error), around: 0) }
        func at(_ mark: Mark, _ yaml: String, _ problem: String, _ context: YamlError.Context?) -> String {
            var s = "line \(mark.line), column \(mark.column): \(problem)"
            if let context { s += " (\(context.text) at line \(context.mark.line), column \(context.mark.column))" }
            return s + ": " + excerpt(line(mark.line, of: yaml), around: mark.column)
        }
        switch e {
        case .scanner(let context, let problem, let mark, let yaml),
            .parser(let context, let problem, let mark, let yaml),
            .composer(let context, let problem, let mark, let yaml):
            return at(mark, yaml, problem, context)
        case .reader(let problem, let offset, _, _):
            return "\(problem)" + (offset.map { " at byte \($0)" } ?? "")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return at(context.mark, context.text, "key given twice: " + excerpt(duplicates.joined(separator: ", "), around: 0), nil)
        default:
            return excerpt(String(describing: e), around: 0)
        }
    }

    static func line(_ number: Int, of text: String) -> Substring {
        var k = 1
        for l in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if k == number { return l }
            k += 1
        }
        return ""
    }

    /// At most about 60 characters of `s` around `column` (1-based, in Unicode scalars), quoted.
    static func excerpt<S: StringProtocol>(_ s: S, around column: Int) -> String {
        let scalars = Array(s.unicodeScalars)
        let width = 60
        let from = max(0, min(column - 1 - width / 2, scalars.count - width))
        let to = min(scalars.count, from + width)
        var out = String(String.UnicodeScalarView(scalars[from..<to]))
        if from > 0 { out = "..." + out }
        if to < scalars.count { out += "..." }
        return JSONWriter.quoted(out)
    }
}

extension RuleFile {
    /// The text of `rules/default.yaml`: every default, generated from the core's defaults.
    public static var defaultFileText: String {
        "# Rekindle's default rule set: every rule family of spec section 3 with its defaults.\n"
            + "# Generated by `rekindle rules defaults`; a user file lays changes over it.\n"
            + RuleSet.yaml(RuleSet.defaults.effective)
    }
}

extension RuleFile {
    /// The text of `docs/ranges.md`: every numeric parameter's accepted values, from the tables
    /// the code checks them against.
    public static var rangesDocText: String {
        """
        # Accepted values of rule parameters and settings

        Generated by `rekindle rules ranges`. `rekindle rules check`, `replay`, `run` and a SIGHUP
        reload refuse a value outside these ranges, naming the key and the range. Every time span is
        at most 100 years, so with event times in years 0000-9999 no touch time overflows; a touch
        whose time would fall past what a 64-bit millisecond count holds never fires.

        A rule file or configuration file is at most \(maxBytes >> 20) MiB, a regular file, and uses
        no YAML anchors or aliases.

        ## Rule file

        \(RuleSet.rangeTable)
        ## `rekindle run` settings

        A setting comes from the configuration file (`--config`, errors name `FILE: key`), the
        environment (`REKINDLE_ALLOWED_LATENESS_MS`) or a flag (`--snapshot-interval`,
        `--snapshot-every-events`, `--stop-when-idle`).

        \(RunConfiguration.rangeTable)
        """
    }
}
