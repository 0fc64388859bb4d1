import Foundation

/// From the parsed TOML to `ETLConfig`.
enum ConfigValidator {
    static func validate(_ table: TOMLTable, path: String, digest: String) throws(ConfigError) -> ETLConfig {
        let diagnostics = Diagnostics(file: path, folder: (path as NSString).deletingLastPathComponent)
        let root = TableReader(table, path: "", diagnostics: diagnostics)

        // [staging]
        var stagingDir = diagnostics.resolve("staging")
        if root.has("staging"), let staging = root.subtable("staging") {
            if let dir = staging.path("dir") { stagingDir = dir }
            staging.finish()
        }

        // [auth.NAME]
        var auths: [String: AuthConfig] = [:]
        var authNames: Set<String> = []
        if root.has("auth"), let authTables = root.subtable("auth") {
            for name in authTables.table.keys {
                authNames.insert(name)
                guard let auth = authTables.subtable(name) else { continue }
                if let config = AuthValidation.read(auth) { auths[name] = config }
            }
        }

        // [workflows.NAME]
        var workflows: [String: WorkflowConfig] = [:]
        if root.has("workflows"), let workflowTables = root.subtable("workflows") {
            let validation = WorkflowValidation(auths: auths, authNames: authNames)
            for name in workflowTables.table.keys {
                guard let workflow = workflowTables.subtable(name) else { continue }
                if !isWorkflowName(name) {
                    diagnostics.add(
                        .invalidValue, line: workflow.line, key: workflow.path,
                        "a workflow name names a folder: use letters, digits, '_' and '-' (at most 64)")
                }
                if let settings = validation.read(workflow) {
                    workflows[name] = WorkflowConfig(name: name, settings: settings)
                }
            }
        }
        root.finish()
        try diagnostics.throwIfAny()
        return ETLConfig(path: path, digest: digest, stagingDir: stagingDir, auths: auths, workflows: workflows)
    }

    static func isWorkflowName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64 && !name.hasPrefix("-")
            && name.unicodeScalars.allSatisfy {
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-")
            }
    }
}
