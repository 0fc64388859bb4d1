/// Configuration text shared by the end-to-end tests: DESIGN.md's example, with values a test machine has.
public enum Fixtures {
    public static func config(replacing old: String? = nil, with new: String? = nil) -> String {
        let text = """
            [staging]
            dir = "staging"

            [auth.interact]
            type = "interact"
            username = "api_user"
            password_env = "RESPONSYS_PASSWORD"
            base_url = "http://127.0.0.1:9"

            [auth.files]
            type = "sftp"
            host = "127.0.0.1"
            port = 2222
            username = "acme_scp"
            private_key_file = "keys/id_ed25519"
            known_hosts_file = "keys/known_hosts"

            [workflows.events]
            type = "import-events"
            auth = "files"
            remote_dir = "/download"
            pattern = "*.txt*"
            stable_seconds = 5
            sink = { type = "sqlite", path = "data/warehouse.sqlite" }

            [workflows.newsletter]
            type = "export-users"
            auth = "interact"
            list = "MASTER_LIST"
            source = { type = "file", path = "exports/newsletter.csv" }
            email_field = "email"
            existing_users = true
            additional_fields = ["first_name", "last_name", "city"]
            audience_memberships = ["newsletter", "high_value"]

            [workflows.welcome]
            type = "export-campaign"
            auth = "interact"
            campaign = "WELCOME"
            list = "MASTER_LIST"
            source = { type = "file", path = "exports/new_signups.csv" }
            additional_fields = ["first_name"]
            back_fill = false

            """
        guard let old, let new else { return text }
        precondition(text.contains(old), "fixture has no \(old)")
        return text.replacingOccurrences(of: old, with: new)
    }

    /// The 1-based line of the first line containing `needle`.
    public static func line(of needle: String, in text: String) -> Int {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        return (lines.firstIndex { $0.contains(needle) } ?? -1) + 1
    }

    /// An import-events config against a test sshd: keys in `keys/` beside it (ed25519 client key, known_hosts,
    /// armored PGP key with its passphrase in TEST_PGP_PASSPHRASE), a SQLite sink in `data/`. `readiness` is
    /// the line choosing how files are judged finished (`ready_suffix = ".ready"` or `stable_seconds = N`).
    public static func importEventsConfig(port: Int, username: String, remoteDir: String, readiness: String) -> String {
        """
        [staging]
        dir = "staging"

        [auth.files]
        type = "sftp"
        host = "127.0.0.1"
        port = \(port)
        username = "\(username)"
        private_key_file = "keys/id_ed25519"
        known_hosts_file = "keys/known_hosts"
        pgp_private_key_file = "keys/pgp.asc"
        pgp_passphrase_env = "TEST_PGP_PASSPHRASE"

        [workflows.events]
        type = "import-events"
        auth = "files"
        remote_dir = "\(remoteDir)"
        pattern = "*.txt*"
        \(readiness)
        sink = { type = "sqlite", path = "data/warehouse.sqlite" }

        """
    }
}
