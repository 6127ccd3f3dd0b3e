FROM python:3.11-slim
WORKDIR /app
COPY . /app
RUN pip install --no-cache-dir . && useradd --create-home bridge
USER bridge
CMD ["bridge", "run"]
