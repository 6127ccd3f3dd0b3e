FROM python:3.11-slim
WORKDIR /app
COPY . /app
# var/ holds labels and any SQLite file; /var/lib/bridge-sim the simulator's state (a
# named volume takes the ownership it has in the image).
RUN pip install --no-cache-dir . \
    && useradd --create-home bridge \
    && mkdir -p /app/var /var/lib/bridge-sim \
    && chown bridge /app/var /var/lib/bridge-sim
USER bridge
EXPOSE 8780
CMD ["bridge", "run"]
