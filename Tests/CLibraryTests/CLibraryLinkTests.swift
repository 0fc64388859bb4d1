import CCrypto
import CCurl
import CGPGME
import CLibArchive
import CLibSSH2
import CSQLite3
import CZlib
import Testing

/// One call into each C library, so a machine missing one fails here and not in a user's run.
@Suite struct CLibraryLinkTests {
    @Test func libssh2InitialisesAndMakesASession() {
        #expect(libssh2_init(0) == 0)
        let session = retl_ssh2_session_init()
        #expect(session != nil)
        if let session { libssh2_session_free(session) }
    }

    @Test func gpgmeReportsAVersionAtLeastOneDotTen() {
        let version = retl_gpgme_check_version("1.10.0")
        #expect(version != nil)
    }

    @Test func libarchiveReadsAGzipSupport() {
        let reader = archive_read_new()
        #expect(reader != nil)
        #expect(archive_read_support_filter_gzip(reader) == ARCHIVE_OK)
        #expect(archive_read_support_format_zip(reader) == ARCHIVE_OK)
        archive_read_free(reader)
    }

    @Test func curlBuildsWithTLS() {
        let info = curl_version_info(CURLVERSION_TENTH)
        #expect(info != nil)
        #expect(String(cString: info!.pointee.ssl_version).isEmpty == false)
        let handle = curl_easy_init()
        #expect(handle != nil)
        #expect(retl_curl_set_long(handle!, CURLOPT_NOSIGNAL, 1) == CURLE_OK)
        curl_easy_cleanup(handle)
    }

    @Test func libcryptoHashesWithSHA256() {
        var digest = [UInt8](repeating: 0, count: 32)
        let input = Array("abc".utf8)
        input.withUnsafeBytes { retl_crypto_sha256($0.baseAddress!, 3, &digest) }
        #expect(digest.prefix(4) == [0xba, 0x78, 0x16, 0xbf])
    }

    @Test func zlibInflateInitialises() {
        var stream = z_stream()
        #expect(retl_inflate_init2(&stream, 15 + 32) == Z_OK)
        inflateEnd(&stream)
    }

    @Test func sqliteOpensAMemoryDatabaseAndBindsText() {
        var db: OpaquePointer?
        #expect(sqlite3_open(":memory:", &db) == SQLITE_OK)
        var statement: OpaquePointer?
        #expect(sqlite3_prepare_v2(db, "SELECT ?1", -1, &statement, nil) == SQLITE_OK)
        let text = "héllo"
        #expect(retl_sqlite3_bind_text(statement!, 1, text, Int32(text.utf8.count)) == SQLITE_OK)
        #expect(sqlite3_step(statement) == SQLITE_ROW)
        #expect(String(cString: sqlite3_column_text(statement, 0)) == "héllo")
        sqlite3_finalize(statement)
        sqlite3_close(db)
    }
}
