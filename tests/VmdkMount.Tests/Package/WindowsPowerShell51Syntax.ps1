# Lists what in a PowerShell script Windows PowerShell 5.1 cannot run: parse errors and the syntax and automatic
# variables that came with PowerShell 6 and 7 (ternary, &&/||, ??, ?., Join-Path with several children,
# ForEach-Object -Parallel, $IsWindows and its kin). One line per finding; nothing when the script is fine.
param([string] $Path)
$tokens = $null; $errors = $null
$ast = [System.Management.Automation.Language.Parser]::ParseFile($Path, [ref] $tokens, [ref] $errors)
$bad = New-Object System.Collections.Generic.List[string]
foreach ($e in $errors) { $bad.Add("parse error: $($e.Message)") }
$found = $ast.FindAll({ param($n)
    $t = $n.GetType().Name
    ($t -eq 'TernaryExpressionAst') -or ($t -eq 'PipelineChainAst') -or
    ($n -is [System.Management.Automation.Language.BinaryExpressionAst] -and $n.Operator.ToString() -eq 'QuestionQuestion') -or
    ($n -is [System.Management.Automation.Language.AssignmentStatementAst] -and $n.Operator.ToString() -eq 'QuestionQuestionEquals') -or
    ($n -is [System.Management.Automation.Language.MemberExpressionAst] -and $n.NullConditional) -or
    ($n -is [System.Management.Automation.Language.IndexExpressionAst] -and $n.NullConditional) -or
    ($n -is [System.Management.Automation.Language.CommandAst] -and $n.GetCommandName() -eq 'Join-Path' -and $n.CommandElements.Count -gt 3) -or
    ($n -is [System.Management.Automation.Language.CommandAst] -and $n.GetCommandName() -eq 'ForEach-Object' -and ($n.CommandElements | Where-Object { $_ -is [System.Management.Automation.Language.CommandParameterAst] -and $_.ParameterName -eq 'Parallel' })) -or
    ($n -is [System.Management.Automation.Language.VariableExpressionAst] -and @('IsWindows', 'IsLinux', 'IsMacOS', 'IsCoreCLR') -contains $n.VariablePath.UserPath)
}, $true)
foreach ($n in $found) { $bad.Add("line $($n.Extent.StartLineNumber): $($n.Extent.Text)") }
$bad | ForEach-Object { Write-Output $_ }
