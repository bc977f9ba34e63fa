/*
 * passerelle-background.exe: starts passerelle.exe (the folder's own) with this program's
 * arguments and no console window, waits for it and exits with its exit code. A GUI-subsystem
 * program, so Windows opens no console for it either; what the logon Run values start
 * (installers/README.md, "No window at logon"). passerelle.exe stays a console program for the CLI.
 *
 * - Arguments: the command line after this program's name, passed on unchanged (CommandLineToArgvW
 *   rules for finding where the name ends), so passerelle.exe splits them as it would have.
 * - Standard handles: this program's, passed on (at logon there are none, and Node then writes to
 *   nothing; from a console with redirections, the output goes where it was redirected).
 * - The child is put in a job that is killed when this program ends: ending one ends both.
 * - Exit code: the child's; 127 when passerelle.exe cannot be started (no window to say why).
 */
#include <windows.h>

#define CANNOT_START 127

/* Where the program name ends in a command line: quoted "..." or up to the first space or tab. */
static const wchar_t *after_program_name(const wchar_t *line) {
  if (*line == L'"') {
    line++;
    while (*line && *line != L'"') line++;
    if (*line == L'"') line++;
  } else {
    while (*line && *line != L' ' && *line != L'\t') line++;
  }
  while (*line == L' ' || *line == L'\t') line++;
  return line;
}

int WINAPI wWinMain(HINSTANCE instance, HINSTANCE previous, PWSTR arguments, int show) {
  (void)instance;
  (void)previous;
  (void)arguments;
  (void)show;

  /* This program's path, its file name replaced by passerelle.exe. */
  wchar_t program[32768];
  DWORD length = GetModuleFileNameW(NULL, program, 32768 - 16);
  if (length == 0 || length >= 32768 - 16) return CANNOT_START;
  DWORD slash = length;
  while (slash > 0 && program[slash - 1] != L'\\' && program[slash - 1] != L'/') slash--;
  lstrcpyW(program + slash, L"passerelle.exe");

  const wchar_t *rest = after_program_name(GetCommandLineW());
  size_t size = (size_t)lstrlenW(program) + (size_t)lstrlenW(rest) + 4;
  wchar_t *line = HeapAlloc(GetProcessHeap(), 0, size * sizeof(wchar_t));
  if (!line) return CANNOT_START;
  lstrcpyW(line, L"\"");
  lstrcatW(line, program);
  lstrcatW(line, L"\"");
  if (*rest) {
    lstrcatW(line, L" ");
    lstrcatW(line, rest);
  }

  STARTUPINFOW startup;
  ZeroMemory(&startup, sizeof startup);
  startup.cb = sizeof startup;
  startup.dwFlags = STARTF_USESTDHANDLES;
  startup.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
  startup.hStdOutput = GetStdHandle(STD_OUTPUT_HANDLE);
  startup.hStdError = GetStdHandle(STD_ERROR_HANDLE);
  PROCESS_INFORMATION child;
  ZeroMemory(&child, sizeof child);

  HANDLE job = CreateJobObjectW(NULL, NULL);
  if (job) {
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits;
    ZeroMemory(&limits, sizeof limits);
    limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    SetInformationJobObject(job, JobObjectExtendedLimitInformation, &limits, sizeof limits);
  }
  if (!CreateProcessW(program, line, NULL, NULL, TRUE, CREATE_NO_WINDOW | CREATE_SUSPENDED, NULL,
                      NULL, &startup, &child))
    return CANNOT_START;
  /* A job refused (an older Windows inside another job): the child runs on, outside it. */
  if (job) AssignProcessToJobObject(job, child.hProcess);
  ResumeThread(child.hThread);
  CloseHandle(child.hThread);

  DWORD code = CANNOT_START;
  WaitForSingleObject(child.hProcess, INFINITE);
  GetExitCodeProcess(child.hProcess, &code);
  CloseHandle(child.hProcess);
  return (int)code;
}
