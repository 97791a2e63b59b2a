FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot bot
COPY dialogs dialogs
COPY backend backend
COPY config config
COPY nlu_data nlu_data
COPY migrations migrations
RUN pip install --no-cache-dir . && frontdesk nlu train
EXPOSE 8080
CMD ["sh", "-c", "frontdesk db upgrade && frontdesk serve --host 0.0.0.0 --port 8080"]
