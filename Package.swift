// swift-tools-version:6.0
// responsys-etl: batch ETL between a company's data and Oracle Responsys.
// Only the toolchain and Debian's C libraries; no outside Swift package.
import PackageDescription

/// A system library found through pkg-config, installed by `run.sh setup` from Debian.
func systemLibrary(_ name: String, pkgConfig: String, apt: String) -> Target {
    .systemLibrary(name: name, pkgConfig: pkgConfig, providers: [.apt([apt])])
}

let package = Package(
    name: "responsys-etl",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "responsys-etl", targets: ["responsys-etl"]),
        .executable(name: "fake-responsys", targets: ["fake-responsys"]),
    ],
    targets: [
        // C libraries: a module map and a shim header each.
        systemLibrary("CLibSSH2", pkgConfig: "libssh2", apt: "libssh2-1-dev"),
        systemLibrary("CGPGME", pkgConfig: "gpgme", apt: "libgpgme-dev"),
        systemLibrary("CLibArchive", pkgConfig: "libarchive", apt: "libarchive-dev"),
        systemLibrary("CCurl", pkgConfig: "libcurl", apt: "libcurl4-openssl-dev"),
        systemLibrary("CZlib", pkgConfig: "zlib", apt: "zlib1g-dev"),
        systemLibrary("CSQLite3", pkgConfig: "sqlite3", apt: "libsqlite3-dev"),
        // SHA-256 for the event transform (event ids and output digests at hardware speed).
        systemLibrary("CCrypto", pkgConfig: "libcrypto", apt: "libssl-dev"),

        // One library per concern.
        .target(name: "Core", dependencies: ["CCrypto"]),
        .target(name: "Config", dependencies: ["Core"]),
        .target(name: "Staging", dependencies: ["Core"]),
        .target(name: "Records", dependencies: ["Core"]),
        .target(name: "Warehouse", dependencies: ["Core", "Records", "CSQLite3"]),
        .target(name: "SFTP", dependencies: ["Core", "CLibSSH2"]),
        .target(name: "PGP", dependencies: ["Core", "CGPGME"]),
        .target(name: "Archive", dependencies: ["Core", "CLibArchive", "CZlib", "PGP"]),
        .target(name: "HTTP", dependencies: ["Core", "CCurl"]),
        .target(name: "Responsys", dependencies: ["Core", "HTTP", "Records"]),
        .target(name: "FakeResponsys", dependencies: ["Core", "Records"]),
        .target(name: "Audience", dependencies: ["Core", "Records", "Warehouse", "CZlib"]),
        .target(
            name: "Workflows",
            dependencies: [
                "Core", "Config", "Staging", "Records", "Warehouse", "SFTP", "PGP", "Archive", "HTTP", "Responsys",
                "Audience",
            ]
        ),
        .target(name: "CLI", dependencies: ["Core", "Config", "Staging", "Workflows"]),
        .executableTarget(name: "responsys-etl", dependencies: ["CLI"]),
        .executableTarget(name: "fake-responsys", dependencies: ["FakeResponsys"]),
        // bench/transform.sh runs the import-events transform through this (release build).
        .executableTarget(name: "transform-bench", dependencies: ["Core", "Records"], path: "bench/transform-bench"),
        // Drives the Responsys client against fake-responsys for bench/ratelimit.sh.
        .executableTarget(name: "ratelimit-bench", dependencies: ["Core", "HTTP", "Responsys"]),
        // bench/diff.sh: times the audience extract + transform against DuckDB.
        .executableTarget(name: "diff-bench", dependencies: ["Audience", "Core"], path: "bench/diff-bench"),
        // bench/decrypt.sh: times PGPDecryptor against `gpg --decrypt`.
        .executableTarget(name: "pgp-bench", dependencies: ["Core", "PGP"], path: "bench/pgp-bench"),
        // bench/load.sh: times the sqlite sink against the sqlite3 shell's import + INSERT … SELECT json_extract.
        .executableTarget(name: "load-bench", dependencies: ["Core", "Warehouse"], path: "bench/load-bench"),
        // Times the SFTP download against OpenSSH's sftp (bench/sftp-download.sh); not shipped.
        .executableTarget(name: "sftp-bench", dependencies: ["Core", "SFTP"]),

        // Tests: unit tests per module; end-to-end tests run the built executables against real peers.
        .target(name: "TestSupport", dependencies: ["Core", "HTTP"], path: "Tests/TestSupport"),
        .testTarget(name: "CoreTests", dependencies: ["Core", "TestSupport"]),
        .testTarget(
            name: "CLibraryTests",
            dependencies: ["CLibSSH2", "CGPGME", "CLibArchive", "CCurl", "CZlib", "CSQLite3", "CCrypto"]),
        .testTarget(name: "ConfigTests", dependencies: ["Config", "TestSupport"]),
        .testTarget(name: "StagingTests", dependencies: ["Staging", "TestSupport"]),
        .testTarget(name: "RecordsTests", dependencies: ["Records", "TestSupport"]),
        .testTarget(name: "WarehouseTests", dependencies: ["Warehouse", "TestSupport"]),
        .testTarget(name: "SFTPTests", dependencies: ["SFTP", "TestSupport"]),
        .testTarget(name: "PGPTests", dependencies: ["PGP", "TestSupport"]),
        .testTarget(name: "ArchiveTests", dependencies: ["Archive", "TestSupport"]),
        .testTarget(name: "ResponsysTests", dependencies: ["HTTP", "Responsys", "FakeResponsys", "TestSupport"]),
        .testTarget(name: "AudienceTests", dependencies: ["Audience", "TestSupport"]),
        .testTarget(
            name: "WorkflowTests",
            dependencies: ["Workflows", "Config", "Staging", "Records", "Warehouse", "FakeResponsys", "TestSupport"]),
        .testTarget(name: "EndToEndTests", dependencies: ["Core", "Warehouse", "Workflows", "TestSupport"]),
        // SIGKILL, cut sessions and server faults against the built executables; bench/reliability.sh runs it long.
        .testTarget(name: "ReliabilityTests", dependencies: ["Core", "Warehouse", "HTTP", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
