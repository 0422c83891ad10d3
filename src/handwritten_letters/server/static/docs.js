// The API documentation: Swagger UI (served by this server, no CDN) on the app's own OpenAPI schema.
window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
