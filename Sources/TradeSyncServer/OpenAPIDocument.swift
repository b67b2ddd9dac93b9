import TradeSyncCore

/// `GET /api/openapi.json`: the API described as OpenAPI 3.1, written here as data. Its test
/// checks that it names exactly the routes of `APIRoutes.table`.
enum OpenAPIDocument {
    static let errorResponse: JSONValue = [
        "description": "An error: `{ \"error\": message }` (with `errors: [{field, message}]` for a request with several problems).",
        "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]],
    ]
    static let unauthorized: JSONValue = [
        "description": "No token, or a malformed, unknown or revoked one.",
        "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]],
    ]
    static let notFound: JSONValue = [
        "description": "No such integration, or one of another contractor (a contractor token never learns which).",
        "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]],
    ]

    static func ok(_ description: String, _ schema: JSONValue) -> JSONValue {
        ["description": .string(description), "content": ["application/json": ["schema": schema]]]
    }

    static func query(_ name: String, _ description: String, required: Bool = false, type: String = "string") -> JSONValue {
        ["name": .string(name), "in": "query", "required": .bool(required), "description": .string(description),
         "schema": ["type": .string(type)]]
    }

    static func ref(_ name: String) -> JSONValue { ["$ref": .string("#/components/schemas/\(name)")] }

    static func idBody(_ description: String) -> JSONValue {
        ["required": false, "description": .string(description),
         "content": ["application/json": ["schema": ["type": "object", "properties": ["integrationId": ["type": "string"]]]]]]
    }

    static let document: JSONValue = [
        "openapi": "3.1.0",
        "info": [
            "title": "tradesync API",
            "version": "1",
            "description": "The seed's /api/contractor/integrations routes, served by `tradesync serve`. Send `Authorization: Bearer <token>` (`tradesync token create`): a contractor token sees only its contractor's integrations (another's answer 404), an admin token sees all. Integrations declared in a deployment file are read-only here (409 `managed in git: <file>`). Every error is JSON: `{ \"error\": … }`.",
        ],
        "security": [["bearer": []]],
        "paths": [
            "/api/contractor/integrations": [
                "get": [
                    "operationId": "listIntegrations",
                    "summary": "The caller's integrations, each with its contractor_integration_summary fields.",
                    "parameters": [query("demoId", "Only this contractor's (a contractor token: its own; another answers 404).")],
                    "responses": [
                        "200": ok("The integrations.", ["type": "object", "properties": ["integrations": ["type": "array", "items": ref("Integration")]]]),
                        "401": unauthorized, "404": notFound,
                    ],
                ],
                "post": [
                    "operationId": "createIntegration",
                    "summary": "Create an integration from a template, validated as a deployment file's connection is.",
                    "requestBody": ["required": true, "content": ["application/json": ["schema": ref("CreateIntegration")]]],
                    "responses": [
                        "201": ok("Created.", ["type": "object", "required": ["id"], "properties": [
                            "id": ["type": "string"], "connection_key": ["type": "string"], "status": ["type": "string"],
                            "warnings": ["type": "array", "items": ["type": "string"]],
                        ]]),
                        "400": errorResponse, "401": unauthorized, "404": notFound,
                        "409": ["description": "`managed in git: <file>` (a deployment file declares this connection key), or the key exists.",
                                "content": ["application/json": ["schema": ref("Error")]]],
                        "413": errorResponse,
                    ],
                ],
                "delete": [
                    "operationId": "disconnectIntegration",
                    "summary": "Disconnect: revoke the OAuth grant where the provider can, forget the tokens, mark it disconnected. Synced data stays.",
                    "parameters": [query("id", "The integration's id (or `integrationId` in a JSON body).")],
                    "requestBody": idBody("The seed's shape: `{ \"integrationId\": … }`."),
                    "responses": [
                        "200": ok("Disconnected.", ["type": "object", "properties": [
                            "id": ["type": "string"], "status": ["type": "string"], "revoked": ["type": "boolean"],
                            "note": ["type": ["string", "null"]],
                        ]]),
                        "400": errorResponse, "401": unauthorized, "404": notFound,
                        "409": ["description": "`managed in git: <file>`.", "content": ["application/json": ["schema": ref("Error")]]],
                    ],
                ],
            ],
            "/api/contractor/integrations/templates": [
                "get": [
                    "operationId": "listTemplates",
                    "summary": "Every contractor_integration_templates row.",
                    "responses": [
                        "200": ok("The templates.", ["type": "object", "properties": ["templates": ["type": "array", "items": ref("Template")]]]),
                        "401": unauthorized,
                    ],
                ],
            ],
            "/api/contractor/integrations/sync": [
                "post": [
                    "operationId": "requestSync",
                    "summary": "Queue a run now; de-duplicated while one is queued and not started.",
                    "parameters": [query("integrationId", "The integration's id (or in a JSON body).")],
                    "requestBody": idBody("`{ \"integrationId\": … }`"),
                    "responses": [
                        "202": ok("Queued, or joined the run already queued.", ["type": "object", "properties": [
                            "integrationId": ["type": "string"], "status": ["type": "string", "enum": ["queued", "already_queued"]],
                        ]]),
                        "400": errorResponse, "401": unauthorized, "404": notFound,
                    ],
                ],
            ],
            "/api/contractor/integrations/logs": [
                "get": [
                    "operationId": "listLogs",
                    "summary": "One integration's contractor_sync_logs rows, newest first.",
                    "parameters": [query("integrationId", "The integration's id.", required: true),
                                   query("limit", "Rows (1…200, default 20).", type: "integer")],
                    "responses": [
                        "200": ok("The runs.", ["type": "object", "properties": ["logs": ["type": "array", "items": ref("SyncLog")]]]),
                        "400": errorResponse, "401": unauthorized, "404": notFound,
                    ],
                ],
            ],
            "/api/contractor/integrations/connect": [
                "post": [
                    "operationId": "startConnect",
                    "summary": "Start an OAuth connect: the URL to send the browser to; the provider returns it to /oauth/callback on this server.",
                    "parameters": [query("id", "The integration's id (or `integrationId` in a JSON body).")],
                    "requestBody": idBody("`{ \"integrationId\": … }`"),
                    "responses": [
                        "200": ok("Where to send the browser.", ["type": "object", "properties": [
                            "authorizeUrl": ["type": "string"], "redirectUri": ["type": "string"],
                        ]]),
                        "400": errorResponse, "401": unauthorized, "404": notFound, "503": errorResponse,
                    ],
                ],
            ],
            "/api/openapi.json": [
                "get": [
                    "operationId": "openAPI",
                    "summary": "This document.",
                    "security": [],
                    "responses": ["200": ok("OpenAPI 3.1.", ["type": "object"])],
                ],
            ],
            "/oauth/callback": [
                "get": [
                    "operationId": "oauthCallback",
                    "summary": "The provider's redirect after consent: state checked, code exchanged, tokens sealed; redirects to `/?connected=<key>` or `/?connect_error=<why>`.",
                    "security": [],
                    "parameters": [query("state", "The pending authorization's state."), query("code", "The authorization code."),
                                   query("error", "Set when consent was refused.")],
                    "responses": ["303": ["description": "Back to the page, with the outcome in the query."]],
                ],
            ],
        ],
        "components": [
            "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer", "description": "A `tsk_…` token from `tradesync token create`."]],
            "schemas": [
                "Error": ["type": "object", "required": ["error"], "properties": [
                    "error": ["type": "string"],
                    "errors": ["type": "array", "items": ["type": "object", "properties": [
                        "field": ["type": "string"], "message": ["type": "string"]]]],
                ]],
                "Integration": ["type": "object", "properties": [
                    "id": ["type": "string"], "integration_id": ["type": "string"], "demo_id": ["type": "string"],
                    "connection_key": ["type": "string"], "integration_type": ["type": "string"], "display_name": ["type": ["string", "null"]],
                    "status": ["type": "string", "enum": ["pending", "connected", "needs_reauth", "error", "disconnected"]],
                    "sync_frequency": ["type": "string"], "schedule": ["type": ["string", "null"]], "auto_sync": ["type": "boolean"],
                    "last_synced_at": ["type": ["string", "null"], "format": "date-time"], "last_error": ["type": ["string", "null"]],
                    "total_syncs": ["type": "integer"], "successful_syncs": ["type": "integer"], "failed_syncs": ["type": "integer"],
                    "records_inserted": ["type": "integer"], "records_synced": ["type": "integer"],
                    "last_run_started_at": ["type": ["string", "null"], "format": "date-time"], "last_run_status": ["type": ["string", "null"]],
                    "created_by": ["type": "string", "enum": ["git", "api", "store"]], "managed_in": ["type": ["string", "null"]],
                ]],
                "CreateIntegration": ["type": "object", "required": ["integration_type"], "additionalProperties": false, "properties": [
                    "demoId": ["type": "string", "description": "The contractor; a contractor token's own by default."],
                    "integration_type": ["type": "string", "description": "A template's integration_type."],
                    "connection_key": ["type": "string", "description": "Default `<demoId>-<integration_type>`."],
                    "credentials": ["type": "object", "additionalProperties": ["type": "string"],
                                    "description": "Slot → reference (`env:NAME` or `file:PATH`); a literal secret is refused."],
                    "config": ["type": "object", "description": "The template's connection fields."],
                    "sync_frequency": ["type": "string", "description": "`hourly`, `daily`, `manual`, `realtime` or `cron:…`."],
                    "auto_sync": ["type": "boolean"], "streams": ["type": "array", "items": ["type": "string"]],
                    "environment": ["type": "string"], "base_url": ["type": "string"],
                    "hosts": ["type": "object", "additionalProperties": ["type": "string"]],
                    "token_url": ["type": "string"], "authorize_url": ["type": "string"],
                ]],
                "Template": ["type": "object", "properties": [
                    "integration_type": ["type": "string"], "display_name": ["type": "string"], "description": ["type": ["string", "null"]],
                    "auth_type": ["type": "string"], "status": ["type": "string"], "status_note": ["type": ["string", "null"]],
                    "capabilities": ["type": "array", "items": ["type": "string"]], "default_frequency": ["type": "string"],
                    "docs_url": ["type": ["string", "null"]], "config": ["type": "object"],
                ]],
                "SyncLog": ["type": "object", "properties": [
                    "id": ["type": "string"], "integration_id": ["type": "string"], "demo_id": ["type": "string"],
                    "entity_type": ["type": "string"], "sync_type": ["type": "string"], "status": ["type": "string"],
                    "records_fetched": ["type": "integer"], "records_inserted": ["type": "integer"], "records_updated": ["type": "integer"],
                    "records_unchanged": ["type": "integer"], "records_failed": ["type": "integer"],
                    "duration_ms": ["type": ["integer", "null"]], "error_message": ["type": ["string", "null"]],
                    "started_at": ["type": "string", "format": "date-time"], "completed_at": ["type": ["string", "null"], "format": "date-time"],
                    "details": ["type": "object"],
                ]],
            ],
        ],
    ]
}
