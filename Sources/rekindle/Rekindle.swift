import ArgumentParser
import Foundation
import RekindleCore
import RekindleRuntime

@main
struct Rekindle: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rekindle",
        abstract: "Event-sourced customer-lifecycle triggers: run live on Kafka, replay history, generate streams.",
        subcommands: [
            RunCommand.self, BrokerCommand.self, ProduceCommand.self, InspectCommand.self, ReplayCommand.self, BenchCommand.self, SimulateCommand.self,
            GenerateCommand.self, RulesCommand.self, FuzzCommand.self, ChurnCommand.self, EraseCommand.self, BacktestCommand.self,
        ])

    /// Bad flags, bad rule files and bad configuration exit 2 (ArgumentParser's own default is 64).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch let error as LiveError {
            FileHandle.standardError.write(Data("rekindle: \(error)\n".utf8))
            Foundation.exit(1)
        } catch let error as UsageError {
            FileHandle.standardError.write(Data("rekindle: \(error.message)\n".utf8))
            Foundation.exit(2)
        } catch let error as PathError {
            FileHandle.standardError.write(Data("rekindle: \(error)\n".utf8))
            Foundation.exit(2)
        } catch let error as FileError {
            FileHandle.standardError.write(Data("rekindle: \(error)\n".utf8))
            Foundation.exit(1)
        } catch let error as ConfigError {
            FileHandle.standardError.write(Data("rekindle: bad configuration: \(error.message)\n".utf8))
            Foundation.exit(2)
        } catch let error as RuleError {
            FileHandle.standardError.write(Data("rekindle: bad rule file: \(error.message)\n".utf8))
            Foundation.exit(2)
        } catch {
            let code = exitCode(for: error)
            if code == .success { exit(withError: error) }
            FileHandle.standardError.write(Data("\(fullMessage(for: error))\n".utf8))
            // A parse or validation error (ArgumentParser's 64) is a bad flag: 2.
            Foundation.exit(code == .validationFailure ? 2 : 1)
        }
    }
}

/// A mistake in how the command was called (missing file, unreadable input): exit 2.
struct UsageError: Error {
    var message: String
}

func parseTime(_ text: String, flag: String) throws -> Millis {
    guard let t = Timestamp.parse(text) else {
        throw ValidationError("\(flag): expected RFC 3339 (e.g. 2026-03-01T00:00:00Z), got \"\(text)\"")
    }
    return t
}
