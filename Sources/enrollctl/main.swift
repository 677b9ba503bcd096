import Foundation

// enrollctl: the command line over enrolld's API socket. It links only the wire types (EnrollAPIModel) and the
// HTTP client (UnixHTTP); one file per command group, plus Options (the command line), Calls (the API) and
// Output.
let environment = ProcessInfo.processInfo.environment
let options = Invocation(Array(CommandLine.arguments.dropFirst()), environment: environment)
let groups: [(words: Set<String>, run: (Invocation, API) -> Void)] = [
    (CardCommands.words, CardCommands.run),
    (EnrollCommand.words, EnrollCommand.run),
    (AccountCommands.words, AccountCommands.run),
    (LifecycleCommands.words, LifecycleCommands.run),
    (TrustCommands.words, TrustCommands.run),
    (TrustListCommands.words, TrustListCommands.run),
    (FaceCommands.words, FaceCommands.run),
    (LivenessCommands.words, LivenessCommands.run),
    (VerifierCommands.words, VerifierCommands.run),
]
guard let command = options.words.first else { fail("no command given\n\(usage)", code: 2) }
guard let group = groups.first(where: { $0.words.contains(command) }) else {
    fail("unknown command '\(command)'\n\(usage)", code: 2)
}
group.run(options, API(options, environment: environment))
