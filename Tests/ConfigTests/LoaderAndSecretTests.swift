import Foundation
import TestSupport
import Testing

@testable import Config

@Suite struct LoaderAndSecretTests {
    @Test func missingFileMentionsTheConfigOption() throws {
        let folder = try TemporaryFolder("config")
        let error = try #require(throws: ConfigError.self) { try ConfigLoader.load(path: folder.file("absent.toml")) }
        #expect(error.code == .missingFile)
        #expect(error.description.contains("--config"))
        #expect(error.exitStatus == .usage)
    }

    @Test func loadResolvesPathsAgainstTheConfigFolderAndDigestsTheBytes() throws {
        let folder = try TemporaryFolder("config")
        let path = try folder.write("etc/responsys-etl.toml", designExample)
        let config = try ConfigLoader.load(path: path)
        let realFolder = (path as NSString).deletingLastPathComponent
        #expect(config.stagingDir == realFolder + "/staging")
        #expect(config.digest == (try ConfigLoader.parse(text: designExample, path: "/x.toml")).digest)
        #expect(config.digest != (try ConfigLoader.parse(text: designExample + "\n", path: "/x.toml")).digest)
    }

    @Test func relativeConfigPathIsMadeAbsolute() throws {
        let config = try ConfigLoader.parse(text: "[staging]\ndir = \"s\"", path: "conf/etl.toml")
        let cwd = FileManager.default.currentDirectoryPath
        #expect(config.path == (cwd as NSString).appendingPathComponent("conf/etl.toml"))
        #expect(config.stagingDir == (cwd as NSString).appendingPathComponent("conf/s"))
        let absolute = try ConfigLoader.parse(text: "[staging]\ndir = \"/var/staging\"", path: "/a/b.toml")
        #expect(absolute.stagingDir == "/var/staging")
        let dotted = try ConfigLoader.parse(text: "[staging]\ndir = \"./x/../staging\"", path: "/a/b.toml")
        #expect(dotted.stagingDir == "/a/staging")
        let home = try ConfigLoader.parse(text: "[staging]\ndir = \"~/staging\"", path: "/a/b.toml")
        #expect(home.stagingDir == NSHomeDirectory() + "/staging")
    }

    @Test func syntaxErrorsCarryTheFileAndLine() throws {
        let folder = try TemporaryFolder("config")
        let path = try folder.write("bad.toml", "[staging]\ndir = \"unterminated\n")
        let error = try #require(throws: ConfigError.self) { try ConfigLoader.load(path: path) }
        #expect(error.code == .syntax)
        #expect(error.description.hasPrefix((path as NSString).standardizingPath + ":2: "))
    }

    @Test func nonUTF8FileIsRefusedWithItsLine() throws {
        var bytes = Array("[staging]\ndir = \"".utf8)
        bytes += [0xFF, 0xFE]
        bytes += Array("\"\n".utf8)
        let error = try #require(throws: ConfigError.self) {
            try ConfigLoader.parse(data: Data(bytes), path: "/x.toml")
        }
        #expect(error.code == .unreadable)
        #expect(error.problems[0].line == 2)
    }

    @Test func environmentSecret() throws {
        let secret = SecretRef.environment("RETL_TEST_PASSWORD")
        #expect(try secret.resolve(environment: ["RETL_TEST_PASSWORD": "s3cret"]) == "s3cret")
    }

    @Test func missingEnvironmentVariableIsNamedWithoutAnyValue() throws {
        let secret = SecretRef.environment("RETL_TEST_PASSWORD")
        let error = try #require(throws: ConfigError.self) {
            try secret.resolve(environment: ["OTHER": "do-not-show"])
        }
        #expect(error.code == .missingSecret)
        #expect(error.description.contains("RETL_TEST_PASSWORD"))
        #expect(!error.description.contains("do-not-show"))
        let empty = try #require(throws: ConfigError.self) {
            try secret.resolve(environment: ["RETL_TEST_PASSWORD": ""])
        }
        #expect(empty.code == .missingSecret)
    }

    @Test func fileSecretLosesOneTrailingNewline() throws {
        let folder = try TemporaryFolder("config")
        #expect(try SecretRef.file(try folder.write("a", "pass phrase\n")).resolve(environment: [:]) == "pass phrase")
        #expect(try SecretRef.file(try folder.write("b", "crlf\r\n")).resolve(environment: [:]) == "crlf")
        #expect(try SecretRef.file(try folder.write("c", "two\n\n")).resolve(environment: [:]) == "two\n")
        #expect(try SecretRef.file(try folder.write("d", "none")).resolve(environment: [:]) == "none")
    }

    @Test func missingAndEmptySecretFiles() throws {
        let folder = try TemporaryFolder("config")
        let missing = try #require(throws: ConfigError.self) {
            try SecretRef.file(folder.file("nope")).resolve(environment: [:])
        }
        #expect(missing.code == .missingSecret)
        #expect(missing.description.contains(folder.file("nope")))
        let empty = try #require(throws: ConfigError.self) {
            try SecretRef.file(try folder.write("empty", "\n")).resolve(environment: [:])
        }
        #expect(empty.code == .missingSecret)
    }

    @Test func unreadableSecretFileIsNotReportedAsMissing() throws {
        // A folder where the file should be: it exists but cannot be read as a file (even by root).
        let folder = try TemporaryFolder("config")
        let path = folder.file("folder")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        let error = try #require(throws: ConfigError.self) { try SecretRef.file(path).resolve(environment: [:]) }
        #expect(error.code == .unreadable)
    }

    @Test func secretFileKeyResolvesAgainstTheConfigFolder() throws {
        let text = """
            [auth.rest]
            type = "interact"
            username = "u"
            password_file = "secrets/pw"
            instance = "interact8"
            """
        let config = try ConfigLoader.parse(text: text, path: "/srv/etl/etl.toml")
        #expect(config.secretRefs == [.file("/srv/etl/secrets/pw")])
    }

    @Test func resolveSecretsNamesEveryMissingOneWithItsKey() throws {
        let config = try ConfigLoader.parse(text: designExample, path: "/srv/etl.toml")
        let error = try #require(throws: ConfigError.self) {
            try config.resolveSecrets(environment: ["PGP_PASSPHRASE": "pgp-value"])
        }
        #expect(error.codes == [.missingSecret])
        #expect(error.problems[0].key == "auth.interact.password")
        #expect(
            error.description
                == "/srv/etl.toml: key 'auth.interact.password': environment variable RESPONSYS_PASSWORD: is not set or "
                + "is empty, but the config takes a secret from it (export RESPONSYS_PASSWORD before running, or use a "
                + "*_file key)")
        #expect(!error.description.contains("pgp-value"))

        let values = try config.resolveSecrets(environment: ["PGP_PASSPHRASE": "a", "RESPONSYS_PASSWORD": "b"])
        #expect(values == ["auth.files.pgp_passphrase": "a", "auth.interact.password": "b"])
    }
}
