//===- CommandLine.cpp - Option tables, parsing, help and exit statuses ---===//
//
// See CommandLine.h. Values are checked when they are parsed, so that a bad
// value is refused before a command does any work; the accessors only convert
// text that has passed the check (or a default, checked the same way).
//
//===----------------------------------------------------------------------===//
#include "sparta/cli/CommandLine.h"


#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace sparta::cli {

//===----------------------------------------------------------------------===//
// Ranges and values
//===----------------------------------------------------------------------===//

static std::string numberText(int64_t v) { return std::to_string(v); }
static std::string numberText(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15)
    return std::to_string(int64_t(v)); // 1000000, not 1e+06
  std::ostringstream out;
  out << v;
  return out.str();
}

template <typename T> std::string Range<T>::text() const {
  const bool noMin = min == std::numeric_limits<T>::lowest();
  const bool noMax = max == std::numeric_limits<T>::max();
  if (noMin && noMax)
    return "any value";
  if (noMax)
    return (minOpen ? "greater than " : "at least ") + numberText(min);
  if (noMin)
    return (maxOpen ? "less than " : "at most ") + numberText(max);
  return (minOpen ? "(" : "[") + numberText(min) + ", " + numberText(max) + (maxOpen ? ")" : "]");
}
template struct Range<int64_t>;
template struct Range<double>;

/// Parses a whole decimal integer (no blanks, no suffix) into 64 bits.
static bool parseInteger(const std::string &text, int64_t &value) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0])))
    return false;
  errno = 0;
  char *end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (*end != '\0' || errno == ERANGE)
    return false;
  value = v;
  return true;
}

/// Parses a whole finite decimal number.
static bool parseReal(const std::string &text, double &value) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0])))
    return false;
  errno = 0;
  char *end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (*end != '\0' || errno == ERANGE || !std::isfinite(v))
    return false;
  value = v;
  return true;
}

/// "--layers 0 is out of range [1, 256]", "--lr -1 is out of range: it must be greater than 0".
static UsageError outOfRange(const std::string &given, const std::string &range) {
  const bool interval = range[0] == '[' || range[0] == '(';
  return UsageError(given + " is out of range" + (interval ? " " : ": it must be ") + range);
}

/// Throws UsageError unless `text` is a valid value of `option`.
static void checkValue(const Option &option, const std::string &text) {
  const std::string flag = "--" + option.name;
  switch (option.kind) {
  case Option::Kind::Flag:
  case Option::Kind::Text:
    return;
  case Option::Kind::Integer: {
    int64_t v = 0;
    const IntRange &r = option.integers;
    if (!parseInteger(text, v))
      throw UsageError(flag + " needs an integer" + (r.unbounded() ? "" : " in " + r.text()) +
                       ", not '" + text + "'");
    if (!r.contains(v))
      throw outOfRange(flag + " " + text, r.text());
    return;
  }
  case Option::Kind::Real: {
    double v = 0;
    const RealRange &r = option.reals;
    if (!parseReal(text, v))
      throw UsageError(flag + " needs a finite number" + (r.unbounded() ? "" : " in " + r.text()) +
                       ", not '" + text + "'");
    if (!r.contains(v))
      throw outOfRange(flag + " " + text, r.text());
    return;
  }
  case Option::Kind::Choice: {
    if (std::find(option.choices.begin(), option.choices.end(), text) != option.choices.end())
      return;
    std::string list;
    for (size_t k = 0; k < option.choices.size(); ++k)
      list += (k == 0 ? "" : k + 1 == option.choices.size() ? " or " : ", ") + option.choices[k];
    throw UsageError("unknown " + flag + " '" + text + "' (expected " + list + ")");
  }
  }
}

//===----------------------------------------------------------------------===//
// Option
//===----------------------------------------------------------------------===//

Option Option::flag(std::string name, std::string help) {
  Option o;
  o.name = std::move(name);
  o.kind = Kind::Flag;
  o.help = std::move(help);
  return o;
}

Option Option::integer(std::string name, std::string metavar, IntRange range, std::string help) {
  Option o;
  o.name = std::move(name);
  o.kind = Kind::Integer;
  o.metavar = std::move(metavar);
  o.integers = range;
  o.help = std::move(help);
  return o;
}

Option Option::real(std::string name, std::string metavar, RealRange range, std::string help) {
  Option o;
  o.name = std::move(name);
  o.kind = Kind::Real;
  o.metavar = std::move(metavar);
  o.reals = range;
  o.help = std::move(help);
  return o;
}

Option Option::text(std::string name, std::string metavar, std::string help) {
  Option o;
  o.name = std::move(name);
  o.kind = Kind::Text;
  o.metavar = std::move(metavar);
  o.help = std::move(help);
  return o;
}

Option Option::choice(std::string name, std::string metavar, std::vector<std::string> choices,
                      std::string help) {
  Option o;
  o.name = std::move(name);
  o.kind = Kind::Choice;
  o.metavar = std::move(metavar);
  o.choices = std::move(choices);
  o.help = std::move(help);
  return o;
}

Option Option::byDefault(std::string value) const {
  Option o = *this;
  o.defaultValue = std::move(value);
  return o;
}

Option Option::derivedDefault(std::string note) const {
  Option o = *this;
  o.defaultNote = std::move(note);
  return o;
}

Option Option::repeatable() const {
  Option o = *this;
  o.repeated = true;
  return o;
}

Option Option::withShortName(char c) const {
  Option o = *this;
  o.shortName = c;
  return o;
}

//===----------------------------------------------------------------------===//
// Arguments
//===----------------------------------------------------------------------===//

const Option &Arguments::option(const std::string &name) const {
  for (const Option &o : options_)
    if (o.name == name)
      return o;
  throw std::logic_error("no option --" + name + " in the command's table");
}

bool Arguments::has(const std::string &name) const {
  option(name);
  return values_.count(name) != 0;
}

std::string Arguments::text(const std::string &name) const {
  const Option &o = option(name);
  auto it = values_.find(name);
  if (it != values_.end() && !it->second.empty())
    return it->second.back();
  if (!o.defaultValue)
    throw std::logic_error("--" + name + " has no value and no default");
  checkValue(o, *o.defaultValue); // a bad default is the table's mistake; say so at once
  return *o.defaultValue;
}

std::vector<std::string> Arguments::values(const std::string &name) const {
  option(name);
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

int64_t Arguments::integer64(const std::string &name) const {
  if (option(name).kind != Option::Kind::Integer)
    throw std::logic_error("--" + name + " is not an integer option");
  int64_t v = 0;
  parseInteger(text(name), v);
  return v;
}

void Arguments::requireFits(const std::string &name, int64_t lowest, uint64_t highest) const {
  const IntRange &r = option(name).integers;
  if (r.min < lowest || (r.max > 0 && uint64_t(r.max) > highest))
    throw std::logic_error("the range of --" + name + " does not fit the type it is read as");
}

double Arguments::real(const std::string &name) const {
  if (option(name).kind != Option::Kind::Real)
    throw std::logic_error("--" + name + " is not a real option");
  double v = 0;
  parseReal(text(name), v);
  return v;
}

void requirePositionals(const Arguments &args, size_t count, const std::string &what) {
  if (args.positionals.size() < count)
    throw UsageError("missing " + what);
  if (args.positionals.size() > count)
    throw UsageError("unexpected argument '" + args.positionals[count] + "'" +
                     (count == 0 ? "" : " (only one " + what + " is read)"));
}

//===----------------------------------------------------------------------===//
// Parsing
//===----------------------------------------------------------------------===//

static const Option kHelpOption = Option::flag("help", "print this help and exit").withShortName('h');
static const Option kVersionOption = Option::flag("version", "print the version and exit");

static std::vector<Option> withBuiltins(const std::vector<Option> &options) {
  std::vector<Option> all = options;
  all.push_back(kHelpOption);
  all.push_back(kVersionOption);
  return all;
}

Arguments parseArguments(const Command &command, const std::vector<std::string> &argv) {
  const std::vector<Option> options = withBuiltins(command.options);
  Arguments args(options);
  auto find = [&](const std::string &name) -> const Option * {
    for (const Option &o : options)
      if (o.name == name)
        return &o;
    return nullptr;
  };
  bool optionsEnded = false;
  for (size_t k = 0; k < argv.size(); ++k) {
    const std::string &arg = argv[k];
    if (optionsEnded || arg.size() < 2 || arg[0] != '-') {
      args.positionals.push_back(arg);
      continue;
    }
    if (arg == "--") {
      optionsEnded = true;
      continue;
    }
    const Option *option = nullptr;
    std::string inlineValue;
    bool hasInlineValue = false;
    if (arg[1] != '-') {
      for (const Option &o : options)
        if (arg.size() == 2 && o.shortName == arg[1])
          option = &o;
      if (!option)
        throw UsageError("unknown option '" + arg + "'");
    } else {
      std::string name = arg.substr(2);
      if (size_t eq = name.find('='); eq != std::string::npos) {
        inlineValue = name.substr(eq + 1);
        name = name.substr(0, eq);
        hasInlineValue = true;
      }
      option = find(name);
      if (!option)
        throw UsageError("unknown option '--" + name + "'");
    }
    const std::string flag = "--" + option->name;
    if (option->kind == Option::Kind::Flag) {
      if (hasInlineValue)
        throw UsageError("option '" + flag + "' takes no value");
      args.add(option->name, "");
      continue;
    }
    if (!hasInlineValue) {
      if (k + 1 >= argv.size())
        throw UsageError("option '" + flag + "' needs a value (" + option->metavar + ")");
      inlineValue = argv[++k];
    }
    checkValue(*option, inlineValue);
    args.add(option->name, inlineValue);
  }
  return args;
}

//===----------------------------------------------------------------------===//
// Help
//===----------------------------------------------------------------------===//

std::string wrap(const std::string &text, size_t indent, size_t width) {
  std::istringstream words(text);
  std::string out, line, word;
  while (words >> word) {
    if (!line.empty() && indent + line.size() + 1 + word.size() > width) {
      out += line + "\n" + std::string(indent, ' ');
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  return out + line;
}

/// "N in [1, 256]", "N >= 0", "X < 1".
template <typename T> static std::string rangeFact(const std::string &metavar, const Range<T> &r) {
  if (r.max == std::numeric_limits<T>::max())
    return metavar + (r.minOpen ? " > " : " >= ") + numberText(r.min);
  if (r.min == std::numeric_limits<T>::lowest())
    return metavar + (r.maxOpen ? " < " : " <= ") + numberText(r.max);
  return metavar + " in " + r.text();
}

/// The option's help with what the table knows appended: the allowed values
/// and the default.
static std::string optionHelp(const Option &o) {
  std::vector<std::string> facts;
  if (o.kind == Option::Kind::Integer && !o.integers.unbounded())
    facts.push_back(rangeFact(o.metavar, o.integers));
  if (o.kind == Option::Kind::Real && !o.reals.unbounded())
    facts.push_back(rangeFact(o.metavar, o.reals));
  if (o.kind == Option::Kind::Choice) {
    std::string list;
    for (size_t k = 0; k < o.choices.size(); ++k)
      list += (k ? ", " : "") + o.choices[k];
    facts.push_back("one of " + list);
  }
  if (o.repeated)
    facts.push_back("repeatable");
  if (o.defaultValue)
    facts.push_back("default " + (o.defaultValue->empty() ? "''" : *o.defaultValue));
  if (!o.defaultNote.empty())
    facts.push_back("default " + o.defaultNote);
  std::string help = o.help;
  if (!facts.empty()) {
    help += " (";
    for (size_t k = 0; k < facts.size(); ++k)
      help += (k ? "; " : "") + facts[k];
    help += ")";
  }
  return help;
}

std::string commandUsage(const Tool &tool, const Command &command) {
  constexpr size_t kColumn = 26, kWidth = 92;
  std::ostringstream out;
  out << "usage: " << tool.name << (command.name.empty() ? "" : " " + command.name) << " " << command.synopsis << "\n\n"
      << wrap(command.name.empty() ? tool.summary : command.summary, 0, kWidth) << "\n\noptions:\n";
  for (const Option &o : withBuiltins(command.options)) {
    std::string left = (o.shortName ? std::string("-") + o.shortName + ", " : "") + "--" + o.name +
                       (o.metavar.empty() ? "" : " " + o.metavar);
    out << "  " << left;
    if (left.size() + 2 < kColumn)
      out << std::string(kColumn - 2 - left.size(), ' ');
    else
      out << "\n" << std::string(kColumn, ' ');
    out << wrap(optionHelp(o), kColumn, kWidth) << "\n";
  }
  if (!command.details.empty())
    out << "\n" << command.details << (command.details.back() == '\n' ? "" : "\n");
  return out.str();
}

} // namespace sparta::cli
