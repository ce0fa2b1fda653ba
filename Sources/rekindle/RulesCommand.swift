import ArgumentParser
import Foundation
import RekindleCore
import RekindleRuntime

struct RulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules", abstract: "Check rule files and show the defaults.",
        subcommands: [Check.self, Defaults.self, Ranges.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a rule file; print its effective rules and version.")

        @Argument(help: "A rule file (YAML or JSON).")
        var file: String

        func run() throws {
            try InputFile.check(file, flag: "rules check")
            let rules = try RuleFile.load(path: file)
            print("# rules: \(rules.version)")
            print("# rules_version: \(rules.hash)")
            print("# enabled: \(rules.rules.map(\.id).joined(separator: ", "))")
            print(RuleSet.yaml(rules.effective), terminator: "")
        }
    }

    struct Defaults: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the default rule set as YAML (the content of rules/default.yaml).")

        func run() throws {
            print(RuleFile.defaultFileText, terminator: "")
        }
    }

    struct Ranges: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the accepted range of every numeric parameter and setting (docs/ranges.md).")

        func run() throws {
            print(RuleFile.rangesDocText, terminator: "")
        }
    }
}
