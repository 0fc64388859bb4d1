/// The example configuration of DESIGN.md, verbatim: it must always parse.
let designExample = """
    [staging]
    dir = "staging"

    [auth.interact]                 # Responsys Interact: REST
    type = "interact"
    username = "api_user"
    password_env = "RESPONSYS_PASSWORD"
    instance = "interact5"          # or base_url = "http://127.0.0.1:8080" for a test server

    [auth.files]                    # Responsys SFTP, with PGP
    type = "sftp"
    host = "files.responsys.net"
    port = 22
    username = "acme_scp"
    private_key_file = "keys/id_rsa"            # OpenSSH format; PuTTY keys get a clear error
    known_hosts_file = "keys/known_hosts"       # or host_key_sha256 = "SHA256:…"
    pgp_private_key_file = "keys/pgp.asc"       # optional
    pgp_passphrase_env = "PGP_PASSPHRASE"       # optional

    [workflows.events]
    type = "import-events"
    auth = "files"
    remote_dir = "/download"
    pattern = "*.txt*"
    sink = { type = "sqlite", path = "data/warehouse.sqlite" }

    [workflows.newsletter]
    type = "export-users"
    auth = "interact"
    list = "MASTER_LIST"
    source = { type = "sqlite", path = "data/warehouse.sqlite", query_file = "sql/audiences/newsletter.sql" }
    email_field = "email"
    existing_users = true
    additional_fields = ["first_name", "last_name", "city"]
    audience_memberships = ["newsletter", "high_value"]

    [workflows.welcome]
    type = "export-campaign"
    auth = "interact"
    campaign = "WELCOME"
    source = { type = "file", path = "exports/new_signups.csv" }
    additional_fields = ["first_name"]
    back_fill = false

    """

/// A minimal valid config with one auth of each type, to which a test appends a workflow.
let baseAuths = """
    [auth.rest]
    type = "interact"
    username = "u"
    password_env = "PW"
    base_url = "http://127.0.0.1:8080"

    [auth.files]
    type = "sftp"
    host = "127.0.0.1"
    username = "u"
    private_key_file = "/keys/id"
    host_key_sha256 = "SHA256:\(String(repeating: "A", count: 43))"

    """
