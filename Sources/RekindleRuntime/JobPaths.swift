import Foundation

/// The paths of a job that reads event files and writes outputs (`rekindle replay`, `rekindle
/// churn fit`): defaults named beside the main output, and what is refused before anything is
/// read or written.
enum JobPaths {
    /// `<stem>.<suffix>` beside `output` (`<stdoutStem>.<suffix>` when `output` is stdout and the
    /// job writes there).
    static func sibling(of output: String, _ suffix: String, stdoutStem: String? = nil) -> String {
        if output == "-", let stdoutStem { return "\(stdoutStem).\(suffix)" }
        let url = URL(fileURLWithPath: output)
        var stem = url.lastPathComponent
        if let dot = stem.lastIndex(of: "."), dot != stem.startIndex { stem = String(stem[..<dot]) }
        return url.deletingLastPathComponent().appendingPathComponent("\(stem).\(suffix)").path
    }

    /// Refuses an input (the rule files too) that is not a file or a pipe, standard input named
    /// twice, an output that is a directory or is an input (the same file after symlinks, or the
    /// same path), and two outputs naming one file. `ruleFiles` are each rule file's flag and
    /// path; `outputs` are each output's flag, path, and how a message shows it (a default says
    /// it is one).
    static func check(
        inputs: [String], ruleFiles: [(flag: String, path: String)] = [], outputs: [(flag: String, path: String, shown: String)]
    ) throws(PathError) {
        for path in inputs { try InputFile.check(path, flag: "--input") }
        var read = inputs.map { (FileIdentity(path: $0), "--input \($0)") }
        for (k, path) in inputs.enumerated() where InputFile.isPipe(path) && read[..<k].contains(where: { $0.0 == read[k].0 }) {
            throw PathError(flag: "--input", path: path, problem: "is given more than once: a pipe can be read only once")
        }
        for (flag, path) in ruleFiles {
            try InputFile.check(path, flag: flag)
            read.append((FileIdentity(path: path), "\(flag) \(path)"))
        }
        var written: [(FileIdentity, String)] = []
        for o in outputs where o.path != "-" {
            var st = stat()
            if stat(o.path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR {
                throw PathError(flag: o.flag, path: o.shown, problem: "is a directory")
            }
            let id = FileIdentity(path: o.path)
            if let input = read.first(where: { $0.0 == id }) {
                throw PathError(flag: o.flag, path: o.shown, problem: "is also an input (\(input.1)): writing it would destroy it")
            }
            if let other = written.first(where: { $0.0 == id }) {
                throw PathError(flag: o.flag, path: o.shown, problem: "is also where \(other.1) goes")
            }
            written.append((id, o.flag))
        }
    }
}
