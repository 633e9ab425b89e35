"""The upstream seed test ``thread_archive.rs``, ported line for line to the public names.

Upstream: codex-rs/app-server/tests/suite/v2/thread_archive.rs,
``thread_archive_moves_rollout_into_archived_directory``.
"""

from __future__ import annotations

from pathlib import Path

from codex_fixtures import (
    ARCHIVED_SESSIONS_SUBDIR,
    AppServerProcess,
    create_mock_responses_server_repeating_assistant,
    find_thread_path_by_id_str,
    to_response,
    write_config_toml,
)

DEFAULT_READ_TIMEOUT = 10.0


def test_thread_archive_moves_rollout_into_archived_directory(tmp_path: Path) -> None:
    # imported here, not at collection: the SDK's generated models cost ~0.9 s of CPU in every xdist worker
    from openai_codex.generated.v2_all import (
        ThreadArchiveParams,
        ThreadArchiveResponse,
        ThreadStartParams,
        ThreadStartResponse,
    )

    codex_home = tmp_path
    with create_mock_responses_server_repeating_assistant("Done") as server:
        create_config_toml(codex_home, server.uri)

        with AppServerProcess(codex_home) as mcp:
            mcp.initialize(timeout=DEFAULT_READ_TIMEOUT)

            # Start a thread.
            start_id = mcp.send_thread_start_request(ThreadStartParams(model="mock-model"))
            start_resp = mcp.read_stream_until_response_message(start_id, timeout=DEFAULT_READ_TIMEOUT)
            thread = to_response(ThreadStartResponse, start_resp).thread
            assert thread.id

            # Archive the thread.
            archive_id = mcp.send_thread_archive_request(ThreadArchiveParams(thread_id=thread.id))
            archive_resp = mcp.read_stream_until_response_message(archive_id, timeout=DEFAULT_READ_TIMEOUT)
            to_response(ThreadArchiveResponse, archive_resp)

            # Locate the rollout path recorded for this thread id.
            rollout_path = find_thread_path_by_id_str(codex_home, thread.id)
            assert rollout_path is None, "archived thread should no longer have an active rollout path"

            # Verify file moved.
            archived_directory = codex_home / ARCHIVED_SESSIONS_SUBDIR
            archived_rollout_path = find_archived_rollout_by_thread_id(archived_directory, thread.id)
            assert archived_rollout_path.exists(), f"expected archived rollout path {archived_rollout_path} to exist"


def create_config_toml(codex_home: Path, server_uri: str) -> Path:
    return write_config_toml(codex_home, server_uri)


def find_archived_rollout_by_thread_id(archived_directory: Path, thread_id: str) -> Path:
    for path in archived_directory.iterdir():
        if path.name.endswith(f"{thread_id}.jsonl"):
            return path
    raise FileNotFoundError(f"no archived rollout found for thread id {thread_id}")
