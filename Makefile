# SAM's makefile build method runs `make build-<LogicalId>` with ARTIFACTS_DIR set. Each target publishes one function
# with Native AOT and leaves exactly one file there: an executable named bootstrap, as provided.al2023 expects.
RID ?= linux-x64
PUBLISH = dotnet publish -c Release -r $(RID) -p:PublishAot=true -p:StripSymbols=true

build-IngestFunction:
	$(PUBLISH) functions/Ingest/Ingest.csproj -o "$(ARTIFACTS_DIR)/.publish"
	$(call bootstrap,Mesh.Ingest)

build-ApiFunction:
	$(PUBLISH) functions/Api/Api.csproj -o "$(ARTIFACTS_DIR)/.publish"
	$(call bootstrap,Mesh.Api)

define bootstrap
	mv "$(ARTIFACTS_DIR)/.publish/$(1)" "$(ARTIFACTS_DIR)/bootstrap"
	rm -rf "$(ARTIFACTS_DIR)/.publish"
	chmod 755 "$(ARTIFACTS_DIR)/bootstrap"
endef

.PHONY: build-IngestFunction build-ApiFunction
