import Core
import SFTP
import Testing

/// What a scheduler sees for each kind of SFTP failure: an outage is retried later (75); a problem with the
/// host key, the client key or its passphrase needs a person, like a bad config (2); the rest failed a stage (1).
@Suite struct SFTPExitStatusTests {
    @Test func eachFailureMapsToTheStatusASchedulerActsOn() {
        let expected: [SFTPErrorCode: Core.ExitStatus] = [
            .connectionRefused: .temporaryFailure, .connectionLost: .temporaryFailure, .timeout: .temporaryFailure,
            .hostKeyMismatch: .usage, .hostKeyUnknown: .usage, .wrongPassphrase: .usage, .passphraseRequired: .usage,
            .puttyKey: .usage, .keyRefused: .usage, .rsaSHA1Refused: .usage, .keyFileMissing: .usage,
            .remoteNotFound: .stageFailed, .sizeMismatch: .stageFailed, .localIO: .stageFailed,
            .handshakeFailed: .stageFailed,
        ]
        for (code, status) in expected {
            #expect(SFTPError(code, "x").exitStatus == status, "\(code)")
        }
    }
}
