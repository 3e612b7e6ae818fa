using Mesh.Hosting;
using Mesh.Ingest;

var builder = WebApplication.CreateSlimBuilder(args);
builder.UseMeshLogging();
builder.Services.AddMeshCore(builder.Configuration);
builder.Services.AddIngestFunction(builder.Configuration);

var app = builder.Build();
app.UseMeshDefaults();
app.MapIngestFunction(app.Configuration);
app.Run();
