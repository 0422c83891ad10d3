# The server only: base install (ONNX Runtime, no TensorFlow) pinned by the lock file, the bundled model inside.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml requirements.lock README.md ./
COPY src ./src
# the base install's packages at the lock file's versions; the [train], [ray] and dev extras stay out
RUN python -m venv /opt/letters \
 && /opt/letters/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/letters/bin/pip install --no-cache-dir -c requirements.lock .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 letters
COPY --from=build /opt/letters /opt/letters
ENV PATH=/opt/letters/bin:$PATH PYTHONUNBUFFERED=1
USER letters
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/ready', timeout=2).status != 200)"
CMD ["letters", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
