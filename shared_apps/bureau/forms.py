from __future__ import annotations

from django import forms

from tenants.models import School


class SchoolCreateForm(forms.Form):
    name = forms.CharField(label="学校名称", max_length=100, help_text="与公章一致")
    code = forms.CharField(
        label="学校标识码", max_length=20, help_text="10位：类别2位 + 省份2位 + 序号6位"
    )
    slug = forms.CharField(
        label="域名前缀", max_length=40, help_text="小写字母、数字、连字符，如 gugang"
    )
    county_code = forms.ChoiceField(label="所在县（市、区）")
    stages = forms.MultipleChoiceField(
        label="学段", choices=School.Stage.choices, widget=forms.CheckboxSelectMultiple
    )
    address = forms.CharField(label="地址", max_length=200, required=False)
    principal = forms.CharField(label="校长", max_length=50, required=False)
    phone = forms.CharField(label="联系电话", max_length=20, required=False)
    admin_username = forms.CharField(label="管理员工号", max_length=30)
    admin_full_name = forms.CharField(label="管理员姓名", max_length=50)

    def __init__(self, *args: object, counties: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["county_code"].choices = counties  # type: ignore[attr-defined]


class BureauCreateForm(forms.Form):
    region_code = forms.CharField(
        label="行政区划代码", max_length=12, help_text="6位或12位，如 430181"
    )
    name = forms.CharField(label="教育局名称", max_length=60, help_text="如 浏阳市教育局")
    officer_username = forms.CharField(label="首位管理员用户名", max_length=30)
    officer_name = forms.CharField(label="首位管理员姓名", max_length=50)
