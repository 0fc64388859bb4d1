import Testing

@testable import Config

/// Parses `text`, expecting success.
private func parse(_ text: String) throws -> TOMLTable {
    try TOMLParser.parse(text: text, file: "test.toml")
}

/// Parses `text`, expecting a failure; returns it.
private func failure(_ text: String) -> ConfigError? {
    do {
        _ = try TOMLParser.parse(text: text, file: "test.toml")
        return nil
    } catch {
        return error
    }
}

@Suite struct TOMLParserTests {
    @Test func tablesDottedKeysAndLines() throws {
        let table = try parse(
            """
            # a comment
            title = "x"   # trailing comment

            [a.b]
            c = 1
            d.e = true
            [a]
            z = 'lit'
            """)
        #expect(table["title"] == TOMLValue(.string("x"), line: 2))
        let a = try #require(table["a"]?.table)
        #expect(a.line == 7)
        #expect(a["z"]?.string == "lit")
        #expect(a["z"]?.line == 8)
        let b = try #require(a["b"]?.table)
        #expect(b.line == 4)
        #expect(b["c"] == TOMLValue(.integer(1), line: 5))
        #expect(b["d"]?.table?["e"] == TOMLValue(.boolean(true), line: 6))
        #expect(table.keys == ["title", "a"])
    }

    @Test func quotedKeysAndSpacesAroundDots() throws {
        let table = try parse(#"site . "google.com" . 'x y' = 1"#)
        #expect(table["site"]?.table?["google.com"]?.table?["x y"]?.integer == 1)
    }

    @Test func inlineTables() throws {
        let table = try parse(#"sink = { type = "sqlite", path = "data/w.sqlite", opts.deep = 2 }"# + "\nempty = {}")
        let sink = try #require(table["sink"]?.table)
        #expect(sink["type"]?.string == "sqlite")
        #expect(sink["path"]?.string == "data/w.sqlite")
        #expect(sink["opts"]?.table?["deep"]?.integer == 2)
        #expect(sink.line == 1)
        #expect(table["empty"]?.table == TOMLTable(line: 2))
    }

    @Test func multiLineArraysWithCommentsAndTrailingComma() throws {
        let table = try parse(
            """
            fields = [
              "first_name",  # the first
              # a comment line
              "last_name",
            ]
            nested = [[1, 2], ["a"], []]
            tables = [{ a = 1 }, { b = 2 }]
            after = 3
            """)
        let fields = try #require(table["fields"]?.array)
        #expect(fields.map(\.string) == ["first_name", "last_name"])
        #expect(fields.map(\.line) == [2, 4])
        #expect(table["fields"]?.line == 1)
        #expect(table["nested"]?.array?.count == 3)
        #expect(table["nested"]?.array?[0].array?.map(\.integer) == [1, 2])
        #expect(table["tables"]?.array?[1].table?["b"]?.integer == 2)
        #expect(table["after"]?.line == 8)
    }

    @Test func basicStringEscapes() throws {
        let table = try parse(#"s = "a\nb\tc\"d\\e\u00E9\U0001F600\b\f\r""#)
        #expect(table["s"]?.string == "a\nb\tc\"d\\e\u{E9}\u{1F600}\u{08}\u{0C}\r")
    }

    @Test func literalStringsKeepBackslashes() throws {
        let table = try parse(#"p = 'C:\Users\n'"#)
        #expect(table["p"]?.string == #"C:\Users\n"#)
    }

    @Test func integersWithUnderscoresAndSigns() throws {
        let table = try parse("a = 1_000\nb = -42\nc = +7\nd = 0\ne = 9223372036854775807\nf = -0")
        #expect(table["a"]?.integer == 1000)
        #expect(table["b"]?.integer == -42)
        #expect(table["c"]?.integer == 7)
        #expect(table["d"]?.integer == 0)
        #expect(table["e"]?.integer == Int64.max)
        #expect(table["f"]?.integer == 0)
    }

    @Test func floats() throws {
        let table = try parse("a = 0.5\nb = -1.25e2\nc = 1e3\nd = 3.141_5\ne = 6.0E-1")
        #expect(table["a"]?.kind == .float(0.5))
        #expect(table["b"]?.kind == .float(-125))
        #expect(table["c"]?.kind == .float(1000))
        #expect(table["d"]?.kind == .float(3.1415))
        #expect(table["e"]?.kind == .float(0.6))
    }

    @Test func booleansCRLFAndByteOrderMark() throws {
        let table = try parse("\u{FEFF}a = true\r\nb = false\r\n[t]\r\nc = 1\r\n")
        #expect(table["a"]?.boolean == true)
        #expect(table["b"]?.boolean == false)
        #expect(table["t"]?.table?["c"]?.line == 4)
    }

    @Test func emptyDocument() throws {
        #expect(try parse("").keys.isEmpty)
        #expect(try parse("# only a comment\n\n").keys.isEmpty)
    }

    // MARK: Refused

    @Test(arguments: [
        ("a = 1979-05-27", 1, ConfigError.Code.unsupported),
        ("x = 1\nb = 07:32:00", 2, .unsupported),
        ("x = 1\n\nc = 1979-05-27T07:32:00Z", 3, .unsupported),
        ("s = \"\"\"\nmulti\n\"\"\"", 1, .unsupported),
        ("s = '''x'''", 1, .unsupported),
        ("x = 1\n[[items]]\nname = 1", 2, .unsupported),
        ("h = 0xFF", 1, .unsupported),
        ("o = 0o17", 1, .unsupported),
        ("i = inf", 1, .unsupported),
        ("n = -nan", 1, .unsupported),
        ("a = 1\na = 2", 2, .duplicateKey),
        ("[t]\na = 1\n[t]\nb = 2", 3, .duplicateKey),
        ("[t]\na.b = 1\n[t.a]", 3, .duplicateKey),
        ("t = { a = 1 }\n[t]", 2, .duplicateKey),
        ("t = { a = 1 }\nt.b = 2", 2, .duplicateKey),
        ("a = 1\n[a]", 2, .duplicateKey),
        ("a.b = 1\na.b.c = 2", 2, .duplicateKey),
        ("x = 1\ns = \"unterminated", 2, .syntax),
        ("s = 'unterminated\n", 1, .syntax),
        ("s = \"bad \\x escape\"", 1, .syntax),
        ("s = \"\\uD800\"", 1, .syntax),
        ("s = \"\\u12\"", 1, .syntax),
        ("a = 01", 1, .syntax),
        ("a = 1__0", 1, .syntax),
        ("a = _1", 1, .syntax),
        ("a = 1_", 1, .syntax),
        ("a = 1.", 1, .syntax),
        ("a = .5", 1, .syntax),
        ("a = 99999999999999999999", 1, .syntax),
        ("a = bare", 1, .syntax),
        ("a = ", 1, .syntax),
        ("a = 1 2", 1, .syntax),
        ("= 1", 1, .syntax),
        ("a 1", 1, .syntax),
        ("[t\na = 1", 1, .syntax),
        ("x = 1\narr = [1, 2\n", 3, .syntax),
        ("arr = [1 2]", 1, .syntax),
        ("arr = [,]", 1, .syntax),
        ("t = { a = 1, }", 1, .syntax),
        ("t = { a = 1,\n b = 2 }", 1, .syntax),
        ("t = { a = 1 b = 2 }", 1, .syntax),
        ("a = \"tab\u{01}char\"", 1, .syntax),
        ("a = 1 # comment \u{7F} here", 1, .syntax),
        ("x = 1\n\n\"\"\"key\"\"\" = 1", 3, .syntax),
    ])
    func refused(text: String, line: Int, code: ConfigError.Code) throws {
        let error = try #require(failure(text), "expected \(text.debugDescription) to be refused")
        #expect(error.code == code, "\(error)")
        #expect(error.problems[0].line == line, "\(error)")
        #expect(error.problems[0].file == "test.toml")
        #expect(error.description.hasPrefix("test.toml:\(line): "), "\(error)")
    }

    @Test func refusalsSayWhat() throws {
        let date = try #require(failure("when = 1979-05-27"))
        #expect(date.description.contains("dates and times are not supported"))
        let arrays = try #require(failure("[[workflows]]"))
        #expect(arrays.description.contains("arrays of tables"))
        let duplicate = try #require(failure("a = 1\n\na = 2"))
        #expect(duplicate.description.contains("already defined on line 1"))
    }

    /// A value that fails to parse may be a secret written without quotes, under any key name: the error names
    /// the key and the line and quotes no part of the value.
    @Test(arguments: [
        ("password = Sup3rSecretRestPw!", "password", ["Sup3rSecretRestPw", "Sup3r", "Pw!"]),
        ("pgp_passphrase = tester2 pgp Passphr4se", "pgp_passphrase", ["tester2", "Passphr4se", "pgp P"]),
        ("note = 07:32:hunter2", "note", ["hunter2", "07:32"]),
        ("pin = 0x5EC12E7", "pin", ["5EC12E7"]),
        ("pin = 0042", "pin", ["0042"]),
        ("pin = 4_2_x9", "pin", ["x9", "4_2"]),
        ("list = [1, hunter2]", "list", ["hunter2"]),
        ("password = \"Sup3r\" Secret", nil, ["Secret", "'S'"]),
        ("password = \"Sup3r\\qSecret\"", "password", ["Sup3r", "Secret", "\\q"]),
        // A secret pasted on a line of its own reads as a key with no '='.
        ("Sup3rSecret!", nil, ["Sup3rSecret"]),
    ])
    func unparseableValuesAreNeverQuoted(line: String, key: String?, secretParts: [String]) throws {
        let error = try #require(failure("[auth.interact]\ntype = \"interact\"\n" + line))
        #expect(error.problems[0].line == 3, "\(error)")
        #expect(error.description.hasPrefix("test.toml:3: "), "\(error)")
        if let key {
            #expect(error.problems[0].key == "auth.interact." + key, "\(error)")
            #expect(error.description.contains("key 'auth.interact.\(key)'"), "\(error)")
        }
        for part in secretParts {
            #expect(!error.description.contains(part), "\(error) quotes \(part)")
        }
    }
}
