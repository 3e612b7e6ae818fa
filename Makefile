# SAM's makefile build method calls build-<LogicalId> with ARTIFACTS_DIR set: a Native AOT binary named bootstrap.
RID ?= linux-x64

build-IngestFunction:
	dotnet publish functions/Ingest/Ingest.csproj -c Release -r $(RID) -p:PublishAot=true -o "$(ARTIFACTS_DIR)"
	mv "$(ARTIFACTS_DIR)/Mesh.Ingest" "$(ARTIFACTS_DIR)/bootstrap"

build-ApiFunction:
	dotnet publish functions/Api/Api.csproj -c Release -r $(RID) -p:PublishAot=true -o "$(ARTIFACTS_DIR)"
	mv "$(ARTIFACTS_DIR)/Mesh.Api" "$(ARTIFACTS_DIR)/bootstrap"
