from __future__ import annotations

from django import forms

from accounts.roles import SCHOOL_ROLES


class LoginForm(forms.Form):
    """Username and password; accounts.login.login_attempt decides."""

    username = forms.CharField(label="用户名", max_length=150)
    password = forms.CharField(label="密码", strip=False, widget=forms.PasswordInput)


class TotpCodeForm(forms.Form):
    code = forms.CharField(
        label="验证码",
        max_length=12,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "autofocus": True}
        ),
        help_text="打开手机上的身份验证器应用，输入显示的6位数字。",
    )

    def clean_code(self) -> str:
        code = "".join(str(self.cleaned_data["code"]).split())
        if len(code) != 6 or not code.isdigit():
            raise forms.ValidationError("请输入6位数字验证码。")
        return code


class ReauthForm(forms.Form):
    password = forms.CharField(
        label="密码",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )


class TotpDisableForm(forms.Form):
    password = forms.CharField(
        label="当前密码",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(label="原密码", widget=forms.PasswordInput)
    new_password = forms.CharField(
        label="新密码",
        widget=forms.PasswordInput,
        help_text=(
            "至少10位，须包含大写字母、小写字母、数字、符号中的三类，"
            "不能全是数字，不能与用户名或姓名相近。"
        ),
    )
    new_password_again = forms.CharField(label="再次输入新密码", widget=forms.PasswordInput)

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("new_password") != data.get("new_password_again"):
            self.add_error("new_password_again", "两次输入的新密码不一致。")
        return data


class SchoolUserForm(forms.Form):
    username = forms.CharField(label="工号（用户名）", max_length=30)
    full_name = forms.CharField(label="姓名", max_length=50)
    phone = forms.CharField(label="联系电话", max_length=20, required=False)
    roles = forms.MultipleChoiceField(
        label="角色",
        choices=[(str(r), r.label) for r in SCHOOL_ROLES],
        widget=forms.CheckboxSelectMultiple,
    )
