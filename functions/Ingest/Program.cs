using Mesh.Hosting;
using Mesh.Ingest;

var builder = WebApplication.CreateSlimBuilder(args);
builder.UseMeshLogging();
builder.Services.AddMeshCore(builder.Configuration);
builder.Services.AddIngestFunction(builder.Configuration);

var app = builder.Build();
app.UseExceptionHandler();
app.MapGet("/healthz", () => Results.Text("ok"));
app.MapIngestFunction();
app.Run();
